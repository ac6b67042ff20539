import Foundation
import LabGate

/// One line per poll for a terminal: time, device, then each channel's value and unit or why
/// there is none, and the lots the readings were tagged with.
struct ReadingEcho: Sendable {
    let units: [String: [String: String]]

    init(config: Config) {
        var units: [String: [String: String]] = [:]
        for device in config.devices {
            for field in config.profile(of: device).fields { units[device.id, default: [:]][field.channel] = field.unit }
        }
        self.units = units
    }

    func line(_ poll: PollResult) -> String {
        let values = poll.readings.map { reading in
            if let value = reading.value {
                let unit = units[reading.device]?[reading.channel].map { $0.isEmpty ? "" : " \($0)" } ?? ""
                return "\(reading.channel)=\(AlertFormatter.number(value))\(unit)"
            }
            return "\(reading.channel)=? (\(reading.quality.rawValue))"
        }
        let lots = poll.readings.first?.lots ?? []
        let tagged = lots.isEmpty ? "" : "  lots " + lots.map(TerminalText.escape).joined(separator: ", ")
        return "\(UTCTime.format(poll.time)) \(poll.device) " + values.joined(separator: " ") + tagged
    }

    func print(_ poll: PollResult) {
        // Unbuffered, so a pipe sees each line as soon as the poll is accepted.
        FileHandle.standardOutput.write(Data((line(poll) + "\n").utf8))
    }
}
