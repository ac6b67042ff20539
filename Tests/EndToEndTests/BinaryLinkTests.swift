import Foundation
import Testing

/// Runs a command to its end; stdout and stderr together.
private func run(_ command: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: command)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: output, as: UTF8.self))
}

/// How the daemon binary is linked (Package.swift).
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
}
