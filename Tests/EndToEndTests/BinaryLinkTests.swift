import Foundation
import Testing

/// Runs a command to its end; stdout and stderr together.
private func run(_ command: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let result = try runCommand(command, arguments, mergingErrors: true)
    return (result.status, result.out)
}

/// How the binaries are linked (Package.swift), and what the daemon's holds.
@Suite("the labgated and labgate binaries' linking")
struct BinaryLinkTests {
    @Test("both binaries carry the Swift runtime and Foundation: a lab host needs only C libraries", arguments: ["labgated", "labgate"])
    func selfContained(name: String) throws {
        let (status, output) = try run("/usr/bin/env", ["readelf", "-dW", Harness.built(name)])
        #expect(status == 0, "\(output)")
        let needed = output.split(separator: "\n").filter { $0.contains("(NEEDED)") }
            .compactMap { $0.split(separator: "[").last?.dropLast() }.map(String.init)
        #expect(needed.contains("libmodbus.so.5"))
        let swift = needed.filter { $0.hasPrefix("libswift") || $0.contains("Foundation") || $0.hasPrefix("libdispatch") }
        #expect(swift.isEmpty, "\(needed)")
    }

    /// The modules of the operator's tool, as they appear in mangled Swift symbols (`$s10LabGateSim...`).
    /// The daemon reads its three options by hand: the parser would stay resident for its whole run.
    private static let toolModules = ["LabGateSim", "LabGateReport", "LabGateClient", "ArgumentParser"]

    /// How many of a binary's symbols belong to each module of `toolModules`.
    private func toolSymbols(in binary: String) throws -> [String: Int] {
        let (status, output) = try run("/usr/bin/env", ["nm", "--defined-only", binary])
        #expect(status == 0, "\(output.prefix(500))")
        var counts: [String: Int] = [:]
        for line in output.split(separator: "\n") {
            for module in Self.toolModules where line.contains("\(module.utf8.count)\(module)") {
                counts[module, default: 0] += 1
            }
        }
        return counts
    }

    @Test("labgated holds no code of the simulator, the lot report, the control client or the command-line parser; labgate holds all four")
    func daemonHoldsOnlyTheService() throws {
        let tool = try toolSymbols(in: Harness.binary)
        for module in Self.toolModules {
            #expect(tool[module, default: 0] > 0, "labgate has symbols of \(module): the check finds them where they are")
        }
        #expect(try toolSymbols(in: Harness.daemonBinary).isEmpty)
    }
}
