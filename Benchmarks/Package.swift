// swift-tools-version:6.1
import Foundation
import PackageDescription

// labgate's benchmarks (BENCHMARKS.md), a package of their own so that building labgate builds
// none of them; `scripts/bench NAME` builds this package in release and runs one.
//
// - Benchmarks/LabGateBenchmarks: the micro-benchmarks on ordo-one/package-benchmark (store
//   ingest, the writer's full buffer, the RTU bus, lot report generation), run by its
//   `swift package benchmark` command.
// - Sources/labgate-bench-tcp, Sources/labgate-bench-scale: load harnesses that run the simulator
//   in another process or the daemon under load (Modbus TCP polling; relay writes on an RTU bus;
//   scale, alert latency, startup).
// - Sources/labgate-bench-siteview: `labgate report lot --site` on a lot of 1.45 million readings
//   across 3 gateways, in a throwaway PostgreSQL 15 filled with COPY.
// - Sources/labgate-bench-forward: forwarding a backlog to a throwaway PostgreSQL against psql's
//   bare COPY of the same rows.
// - Sources/labgate-bench-bigstore: `labgate report lot` and `audit verify` on big stores built
//   with labgate's own writer code (time, the lot-only/mixed ratio, peak RSS).

// labgate itself, by path. SwiftPM names a package it finds by path after its folder, which is
// whatever the clone or worktree is called.
let labgate = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "labgate-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        // The malloc interposer only: its other default trait brings a package this build lacks.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        .target(name: "BenchSupport"),
        // A throwaway PostgreSQL 15 for the benchmarks that forward to a site store.
        .target(name: "BenchPostgres", dependencies: ["BenchSupport"]),
        .executableTarget(
            name: "LabGateBenchmarks",
            dependencies: [
                "BenchSupport",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "LabGate", package: labgate),
                .product(name: "LabGateReport", package: labgate),
                .product(name: "LabGateSim", package: labgate),
                .product(name: "Modbus", package: labgate),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Benchmarks/LabGateBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "labgate-bench-tcp",
            dependencies: [
                "BenchSupport",
                .product(name: "LabGate", package: labgate),
                .product(name: "LabGateDaemon", package: labgate),
                .product(name: "LabGateSim", package: labgate),
                .product(name: "Modbus", package: labgate),
                .product(name: "CModbus", package: labgate),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "labgate-bench-bigstore",
            dependencies: [
                .product(name: "LabGate", package: labgate),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "labgate-bench-siteview",
            dependencies: [
                .product(name: "SiteStore", package: labgate),
                .product(name: "TestSupport", package: labgate),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "labgate-bench-forward",
            dependencies: [
                "BenchSupport",
                "BenchPostgres",
                .product(name: "LabGate", package: labgate),
                .product(name: "SiteStore", package: labgate),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "labgate-bench-scale",
            dependencies: [
                "BenchPostgres",
                .product(name: "LabGate", package: labgate),
                .product(name: "LabGateSim", package: labgate),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
