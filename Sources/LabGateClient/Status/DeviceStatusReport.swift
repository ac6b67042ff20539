import Foundation
import LabGate
import Modbus

/// `labgate status` for a terminal: per device its state, the latest value of each channel with
/// its unit and age, then poll and transaction counters, reply times and the last error. Meant to
/// be read at 3 a.m.: the state first, in capitals, and every time also as an age.
public enum DeviceStatusReport {
    /// A snapshot older than this means the daemon is not running (it writes one every few seconds).
    public static let staleAfter: TimeInterval = 30

    public static func render(config: Config, statuses: [String: DeviceStatus], now: Date) -> String {
        var lines: [String] = []
        if let updated = statuses.values.map(\.updated).max() {
            lines.append("site \(config.site): status of \(UTCTime.format(updated)) (\(ElapsedText.age(now.timeIntervalSince(updated))))")
            if now.timeIntervalSince(updated) > staleAfter {
                lines.append(
                    "  NOTE: this snapshot is \(ElapsedText.duration(now.timeIntervalSince(updated))) old: the daemon is not running"
                        + " (or cannot write \(config.store)); everything below is as of then")
            }
        } else {
            lines.append("site \(config.site): no device status in \(config.store) yet (the daemon writes it every few seconds)")
        }
        for device in config.devices {
            lines.append("")
            lines += render(device, status: statuses[device.id], config: config, now: now)
        }
        let unknown = statuses.keys.filter { config.device($0) == nil }.sorted()
        if !unknown.isEmpty {
            lines += ["", "also in the store, not in \(config.file): \(unknown.joined(separator: ", "))"]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func render(_ device: Device, status: DeviceStatus?, config: Config, now: Date) -> [String] {
        let head = "\(device.id)  \(device.kind.rawValue)  bus \(device.bus), unit \(device.unit)"
        guard let status, status.lastPoll != nil else {
            return ["\(head)  —  NOT POLLED YET"]
        }
        var state = status.state(unreachableAfter: device.unreachableAfter).uppercased()
        if status.consecutiveFailures > 0 {
            let polls = status.consecutiveFailures == 1 ? "the last poll" : "the last \(status.consecutiveFailures) polls"
            state += ": \(polls) got no answer"
            if let nextTry = status.nextTry, nextTry > now {
                state += "; backing off, next try \(ElapsedText.age(now.timeIntervalSince(nextTry))) (\(UTCTime.format(nextTry)))"
            }
        }
        let withoutValue = status.channels.filter { $0.quality != .good }.count
        if status.consecutiveFailures == 0, withoutValue > 0 {
            state += ": \(withoutValue) of \(status.channels.count) channels without a value"
        }
        var lines = ["\(head)  —  \(state)"]

        let profile = config.profile(of: device)
        let width = max(12, (profile.fields.map(\.channel.count).max() ?? 0) + 2)
        for channel in ordered(status.channels, by: profile) {
            let unit = profile.field(channel.channel).map { $0.unit.isEmpty ? "" : " \($0.unit)" } ?? ""
            var text: String
            if channel.quality == .good, let value = channel.value {
                text = "\(AlertFormatter.number(value))\(unit)  \(ElapsedText.age(now.timeIntervalSince(channel.time)))"
            } else {
                text = "no value: \(channel.quality.rawValue)"
                if let detail = channel.detail { text += " (\(detail))" }
                text += ", \(ElapsedText.age(now.timeIntervalSince(channel.time)))"
                if let good = channel.lastGoodValue, let time = channel.lastGoodTime {
                    text += "; last good \(AlertFormatter.number(good))\(unit) \(ElapsedText.age(now.timeIntervalSince(time)))"
                } else {
                    text += "; no good value yet"
                }
            }
            lines.append("  \(pad(channel.channel, width))\(text)")
        }

        var polls = "\(status.pollsAnswered) answered, \(status.pollsFailed) failed, \(status.pollsSkipped) skipped"
        if let last = status.lastPoll { polls += "; last \(ElapsedText.age(now.timeIntervalSince(last)))" }
        lines.append("  \(pad("polls", width))\(polls)")

        let t = status.transactions
        var transactions = "\(t.ok) ok, \(t.timeout) timeouts, \(t.badCRC) CRC errors, \(t.badResponse) bad replies, "
            + "\(t.disconnected) connection errors"
        for (code, count) in t.exceptions.sorted(by: { $0.key < $1.key }) {
            transactions += ", exception \(ModbusException(code: code)) × \(count)"
        }
        lines.append("  \(pad("transactions", width))\(transactions)")

        if let latency = status.latency {
            lines.append(
                "  \(pad("reply time", width))p50 \(ElapsedText.milliseconds(latency.p50)), p99 \(ElapsedText.milliseconds(latency.p99)), "
                    + "max \(ElapsedText.milliseconds(latency.max)) (\(latency.count) replies)")
        }
        if let error = status.lastError {
            var text = error
            if let time = status.lastErrorTime { text += ", \(ElapsedText.age(now.timeIntervalSince(time))) (\(UTCTime.format(time)))" }
            lines.append("  \(pad("last error", width))\(text)")
        }
        return lines
    }

    /// Channels in profile order, then any the profile no longer has.
    private static func ordered(_ channels: [ChannelStatus], by profile: Profile) -> [ChannelStatus] {
        let order = Dictionary(profile.fields.enumerated().map { ($1.channel, $0) }) { first, _ in first }
        return channels.enumerated()
            .sorted { (order[$0.element.channel] ?? Int.max, $0.offset) < (order[$1.element.channel] ?? Int.max, $1.offset) }
            .map(\.element)
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(1, width - text.count))
    }
}
