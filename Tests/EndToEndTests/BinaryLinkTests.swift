import Foundation
import Testing

/// Runs a command to its end; stdout and stderr together.
private func run(_ command: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let result = try runCommand(command, arguments, mergingErrors: true)
    return (result.status, result.out)
}

private let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path + "/config/example.yaml"

/// How the daemon binary is linked (Package.swift) and the tool that records its link order.
@Suite("the labgate binary's linking")
struct BinaryLinkTests {
    @Test("the binary carries the Swift runtime and Foundation: a lab host needs only C libraries")
    func selfContained() throws {
        let (status, output) = try run("/usr/bin/env", ["readelf", "-dW", Harness.binary])
        #expect(status == 0, "\(output)")
        let needed = output.split(separator: "\n").filter { $0.contains("(NEEDED)") }
            .compactMap { $0.split(separator: "[").last?.dropLast() }.map(String.init)
        #expect(needed.contains("libmodbus.so.5"))
        let swift = needed.filter { $0.hasPrefix("libswift") || $0.contains("Foundation") || $0.hasPrefix("libdispatch") }
        #expect(swift.isEmpty, "\(needed)")
    }

    @Test("labgate-first-calls lists each function once, in the order the program first ran it, and keeps its exit status")
    func firstCalls() throws {
        let folder = try TemporaryFolder("labgate-files")
        let symbols = folder.path + "/symbols"
        let calls = folder.path + "/calls"
        let tracer = URL(fileURLWithPath: Harness.binary).deletingLastPathComponent().appendingPathComponent("labgate-first-calls").path
        let listed = try run("/bin/sh", ["-c", "readelf -sW '\(Harness.binary)' | awk '$4 == \"FUNC\" && $2 !~ /^0+$/ { print $2, $8 }' > '\(symbols)'"])
        #expect(listed.status == 0, "\(listed.output)")

        let traced = try run(tracer, [symbols, calls, "--", Harness.binary, "check-config", example])
        let plain = try run(Harness.binary, ["check-config", example])
        #expect(traced.status == 0 && plain.status == 0, "\(traced.output)")
        #expect(traced.output.contains(plain.output), "the program's own output comes through")
        let names = try String(contentsOfFile: calls, encoding: .utf8).split(separator: "\n").map(String.init)
        // Once per function: a name occurs no more often than functions of that name exist.
        var functions: [Substring: Int] = [:]
        for line in try String(contentsOfFile: symbols, encoding: .utf8).split(separator: "\n") {
            functions[line.split(separator: " ").last ?? "", default: 0] += 1
        }
        let repeated = Dictionary(names.map { ($0, 1) }, uniquingKeysWith: +).filter { $0.value > functions[Substring($0.key), default: 0] }
        #expect(repeated.isEmpty, "\(repeated)")
        // `main` is `labgate_main` (the same address) in a binary SwiftPM links for testing.
        let main = names.firstIndex { $0 == "main" || $0 == "labgate_main" }
        let load = names.firstIndex { $0.contains("ConfigLoader") && $0.contains("load") }
        #expect(main != nil && load != nil && main! < load!, "main runs before it loads the config")
        #expect(!names.contains { $0.contains("Simulator") }, "check-config never starts the simulator")

        let failed = try run(tracer, [symbols, calls, "--", Harness.binary, "check-config", folder.path + "/missing.yaml"])
        let plainFailed = try run(Harness.binary, ["check-config", folder.path + "/missing.yaml"])
        #expect(plainFailed.status != 0)
        #expect(failed.status == plainFailed.status)
    }
}
