import ArgumentParser
import Foundation
import LabGate
import LabGateClient

struct ReadingsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "readings", abstract: "Show stored readings of a device.")

    enum Format: String, ExpressibleByArgument, CaseIterable { case table, csv, json }

    @OptionGroup var options: ConfigOption

    @Option(help: "Device id.")
    var device: String

    @Option(help: "Only this channel.")
    var channel: String?

    @Option(help: "Only readings since this UTC time (2026-11-24T08:00:00Z) or this long ago (10m, 2h).")
    var since: String?

    @Option(help: "Output format: table, csv or json.")
    var format: Format = .table

    func run() throws {
        let config = try loadConfig(options.config)
        guard let device = config.device(device) else {
            throw ValidationError("no device '\(device)' in \(config.file) (devices: \(config.devices.map(\.id).joined(separator: ", ")))")
        }
        if let channel, config.profile(of: device).field(channel) == nil {
            throw ValidationError("device \(device.id) has no channel '\(channel)'")
        }
        var start: Date?
        if let since {
            if let ago = DurationText.parse(since) {
                start = Date().addingTimeInterval(-ago.seconds)
            } else if let date = UTCTime.parse(since) {
                start = date
            } else {
                throw ValidationError("--since '\(since)' is neither a UTC time (2026-11-24T08:00:00Z) nor a duration (10m)")
            }
        }
        let store = try openStore(config.store)
        let readings = try ReadingQuery(device: device.id, channel: channel, since: start).fetch(from: store)
        let units = Dictionary(config.profile(of: device).fields.map { ($0.channel, $0.unit) }) { a, _ in a }
        print(ReadingTable.render(readings, units: units, format: format.rawValue), terminator: "")
    }
}
