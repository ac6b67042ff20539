// swift-tools-version:6.1
import PackageDescription

// How the binaries are linked on Linux (BENCHMARKS.md, "Peak RSS"). The Swift runtime and
// Foundation are linked in, so a lab host needs only C libraries. Relative relocations, read in
// full at every start, are packed (DT_RELR: glibc 2.36, Debian 12; lld, which ships with the
// toolchain, packs them). No symbols are exported: the loader would search the binary's table
// of them for every symbol it binds in libc; crash backtraces read the symbols from the file.
let selfContained: [LinkerSetting] = [
    .unsafeFlags([
        "-static-stdlib", "-use-ld=lld",
        // What Foundation's static archives need besides themselves; the modules, compiled against
        // the shared runtime, name only the shared libraries (which carry these inside).
        "-lCoreFoundation", "-l_FoundationICU", "-l_FoundationCShims", "-l_FoundationCollections",
        "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
        "-Xlinker", "--no-export-dynamic",
    ], .when(platforms: [.linux])),
]

let package = Package(
    name: "labgate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "labgated", targets: ["labgated"]),
        .executable(name: "labgate", targets: ["labgate"]),
        .library(name: "LabGate", targets: ["LabGate"]),
        // What the benchmarks (the nested package in Benchmarks/) use besides LabGate.
        .library(name: "LabGateDaemon", targets: ["LabGateDaemon"]),
        .library(name: "LabGateReport", targets: ["LabGateReport"]),
        .library(name: "LabGateSim", targets: ["LabGateSim"]),
        .library(name: "Modbus", targets: ["Modbus"]),
        .library(name: "CModbus", targets: ["CModbus"]),
        .library(name: "Outbound", targets: ["Outbound"]),
        .library(name: "SiteStore", targets: ["SiteStore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // Transaction-time histograms per device (p50/p99/max for `labgate status`).
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        // The control socket: HTTP/1.1 with JSON over a Unix domain socket (server in the daemon,
        // client in the CLI through swift-nio's HTTP codec).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // HTTP parts as the control socket's and HTTP listener's channel handlers see them (idle
        // timeout, per-uid connection cap, closing after a refusal); Hummingbird builds on them.
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // SHA-256 for the audit chain and reading digests.
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        // `/metrics` of the HTTP listener, in Prometheus' text format.
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // Deque: the store writer's buffer drops its oldest readings in O(1) during a full disk.
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        // Notification transports (Outbound): STARTTLS for the SMTP client, and an HTTP client
        // for webhooks and Alertmanager.
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        // The site store: each gateway forwards its records to the site's PostgreSQL.
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CModbus",
            pkgConfig: "libmodbus",
            providers: [.apt(["libmodbus-dev"])]
        ),
        .systemLibrary(
            name: "CUdev",
            pkgConfig: "libudev",
            providers: [.apt(["libudev-dev"])]
        ),
        // Linux-PAM, through which a signature re-authenticates its signer.
        .systemLibrary(
            name: "CPAM",
            pkgConfig: "pam",
            providers: [.apt(["libpam0g-dev"])]
        ),
        // POSIX terminal calls Swift cannot import (variadic ioctl, XSI pty functions).
        .target(name: "CSerial"),
        // glibc's malloc tuning (mallopt's constants are macros of <malloc.h>).
        .target(name: "CMalloc"),
        .target(name: "Modbus", dependencies: ["CModbus", "CSerial"]),
        // The domain both binaries share: config, polling, lots, deviations, evaluation, the store,
        // the alert log, the audit trail, the control socket's request and reply types, text formats.
        .target(
            name: "LabGate",
            dependencies: [
                "Modbus", "CUdev", "CPAM",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "GRDB", package: "GRDB.swift"),
                // SQLite's C API, for the store writer's insert loop (GRDB's prepared statement).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        // What only the service runs: the daemon and its pipeline, the control socket's server, the
        // HTTP listener (status page, /status, /metrics), systemd notification.
        .target(
            name: "LabGateDaemon",
            dependencies: [
                "LabGate", "Modbus", "Outbound", "SiteStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // Transports that know nothing of the domain, for the daemon's notification channels: an
        // SMTP client (STARTTLS, AUTH) with RFC 5322/MIME messages, a JSON POST client, and a
        // Prometheus Alertmanager (API v2) client.
        .target(
            name: "Outbound",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // The site's PostgreSQL store: its schema and migrations, and the forwarder that copies a
        // gateway's local records there past the position PostgreSQL has confirmed.
        .target(
            name: "SiteStore",
            dependencies: [
                "LabGate",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // A lot's batch-release report (HTML, CSV, JSON), read from the store.
        .target(
            name: "LabGateReport",
            dependencies: ["LabGate", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // What the operator's tool prints and asks: the control socket's client, and the status,
        // readings, alerts, ports and config summary for a terminal.
        .target(
            name: "LabGateClient",
            dependencies: [
                "LabGate", "Modbus",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(
            name: "LabGateSim",
            dependencies: [
                "Modbus", "LabGate", "CSerial",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // The daemon, what systemd runs: only what the service needs (a test checks that the
        // simulator, the report, the client and the command-line parser are not in it).
        .executableTarget(
            name: "labgated",
            dependencies: [
                "LabGate", "LabGateDaemon", "CMalloc",
                .product(name: "Logging", package: "swift-log"),
            ],
            linkerSettings: selfContained
        ),
        // The operator's tool: every command, the simulator, reports; `labgate run` execs labgated.
        .executableTarget(
            name: "labgate",
            dependencies: [
                "LabGate", "LabGateClient", "LabGateReport", "LabGateSim", "SiteStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            linkerSettings: selfContained
        ),
        // What the test targets share: temporary folders, `eventually`, child processes, loopback.
        .target(name: "TestSupport", path: "Tests/TestSupport", exclude: ["Servers/smtp_sink.py"]),
        .testTarget(name: "ModbusTests", dependencies: ["Modbus", "TestSupport"]),
        .testTarget(
            name: "LabGateTests",
            dependencies: [
                "LabGate", "LabGateDaemon", "LabGateReport", "LabGateClient", "TestSupport", "SiteStore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "OutboundTests",
            dependencies: [
                "Outbound", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "LabGateSimTests", dependencies: ["LabGateSim", "LabGate", "Modbus", "TestSupport"]),
        // These run the real `labgated` and `labgate` binaries, which `swift build --build-tests`
        // and `swift test` build with every other target. They are not dependencies: an
        // executable's linker settings reach the test bundle that depends on it, and theirs
        // (static runtime) must not.
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "LabGate", "LabGateDaemon", "LabGateClient", "Modbus", "TestSupport", "SiteStore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                // A loopback webhook receiver for the notification tests.
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
