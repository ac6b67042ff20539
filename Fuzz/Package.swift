// swift-tools-version:6.1
import Foundation
import PackageDescription

// Fuzz targets for what labgate reads from people and other programs: the config loader, the
// simulator's scenario parser and the control socket's request bodies. A package of its own, so
// that only `scripts/fuzz` builds it with libFuzzer (`--sanitize fuzzer`, which instruments
// every target for coverage).

// labgate itself, by path: SwiftPM names a package it finds by path after its folder.
let labgate = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "labgate-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "..")],
    targets: [
        // libFuzzer brings the program's main and calls LLVMFuzzerTestOneInput.
        .executableTarget(
            name: "labgate-fuzz",
            dependencies: [
                .product(name: "LabGate", package: labgate),
                .product(name: "LabGateSim", package: labgate),
            ],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ],
    swiftLanguageModes: [.v6]
)
