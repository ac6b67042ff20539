import ArgumentParser
import Foundation
import LabGate
import LabGateClient

struct AlertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts", abstract: "Show the alert log, coloured by severity on a terminal.")

    @OptionGroup var options: ConfigOption

    @Flag(name: .shortAndLong, help: "Keep showing new events as they are written (follows rotation).")
    var follow = false

    @Option(help: "Show only the last N events first.")
    var last: Int?

    func run() async throws {
        let config = try loadConfig(options.config)
        let colour = isatty(STDOUT_FILENO) == 1
        let reader = AlertLogReader(path: config.alerts + "/alerts.jsonl")
        let render: @Sendable (AlertLogReader.Entry) -> Void = { entry in
            FileHandle.standardOutput.write(Data((AlertTerminal.render(entry, colour: colour) + "\n").utf8))
        }
        var entries = try reader.readAll()
        if let last { entries = Array(entries.suffix(last)) }
        entries.forEach(render)
        if follow {
            try await reader.follow(render)
        }
    }
}
