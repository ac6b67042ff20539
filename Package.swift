// swift-tools-version:6.1
import PackageDescription

// How the daemon binary is linked on Linux, for its memory (BENCHMARKS.md, "Peak RSS"). The kernel
// maps code 64 KB at a time around each page touched, so what counts is how scattered the code
// that runs is. The Swift runtime and Foundation are linked in, and lld places the functions the
// daemon runs next to each other, in the order scripts/link-order recorded; a stale order file
// only costs memory (functions it no longer names are placed after, as before), never a build.
// Relative relocations, read in full at every start, are packed (DT_RELR: glibc 2.36, Debian 12).
// No symbols are exported: the loader would search the binary's 2 MB table of them for every
// symbol it binds in libc; crash backtraces read the symbols from the file, not from that table.
let daemonLinkOrder = Context.packageDirectory + "/Sources/labgate/link-order.txt"
let daemonLinkerFlags = [
    "-static-stdlib", "-use-ld=lld",
    // What Foundation's static archives need besides themselves; the modules, compiled against the
    // shared runtime, name only the shared libraries (which carry these inside).
    "-lCoreFoundation", "-l_FoundationICU", "-l_FoundationCShims", "-l_FoundationCollections",
    "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
    "-Xlinker", "--symbol-ordering-file=\(daemonLinkOrder)", "-Xlinker", "--no-warn-symbol-ordering",
    "-Xlinker", "--no-export-dynamic",
]
// The linker moves sections, not functions: without this, each file's code is one section, and a
// file with one function the daemon runs would bring all of it. (Only this package's own modules:
// SwiftPM gives a package no say over how its dependencies are compiled.)
let functionSections: [SwiftSetting] = [
    .unsafeFlags(["-Xfrontend", "-function-sections"], .when(platforms: [.linux], configuration: .release)),
]

let package = Package(
    name: "labgate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "labgate", targets: ["labgate"]),
        .library(name: "LabGate", targets: ["LabGate"]),
        // What the benchmarks (the nested package in Benchmarks/) use besides LabGate.
        .library(name: "LabGateSim", targets: ["LabGateSim"]),
        .library(name: "Modbus", targets: ["Modbus"]),
        .library(name: "CModbus", targets: ["CModbus"]),
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
        // SHA-256 for the audit chain and reading digests.
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        // `/metrics` of the HTTP listener, in Prometheus' text format.
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // Deque: the store writer's buffer drops its oldest readings in O(1) during a full disk.
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
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
        // POSIX terminal calls Swift cannot import (variadic ioctl, XSI pty functions).
        .target(name: "CSerial"),
        .target(name: "Modbus", dependencies: ["CModbus", "CSerial"], swiftSettings: functionSections),
        .target(
            name: "LabGate",
            dependencies: [
                "Modbus", "CUdev",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "GRDB", package: "GRDB.swift"),
                // SQLite's C API, for the store writer's insert loop (GRDB's prepared statement).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            swiftSettings: functionSections
        ),
        .target(
            name: "LabGateSim",
            dependencies: [
                "Modbus", "LabGate", "CSerial",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: functionSections
        ),
        .executableTarget(
            name: "labgate",
            dependencies: [
                "LabGate", "LabGateSim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            exclude: ["link-order.txt"],
            swiftSettings: functionSections,
            linkerSettings: [.unsafeFlags(daemonLinkerFlags, .when(platforms: [.linux]))]
        ),
        // Which functions a program runs, in the order it first enters them (scripts/link-order).
        .executableTarget(name: "labgate-first-calls"),
        // What the test targets share: temporary folders, `eventually`, child processes, loopback.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "ModbusTests", dependencies: ["Modbus", "TestSupport"]),
        .testTarget(
            name: "LabGateTests",
            dependencies: ["LabGate", "TestSupport", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(name: "LabGateSimTests", dependencies: ["LabGateSim", "LabGate", "Modbus", "TestSupport"]),
        // These run the real `labgate` binary, which `swift build --build-tests` and `swift test`
        // build with every other target. It is not a dependency: an executable's linker settings
        // reach the test bundle that depends on it, and the daemon's (static runtime) must not.
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["LabGate", "Modbus", "TestSupport"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
