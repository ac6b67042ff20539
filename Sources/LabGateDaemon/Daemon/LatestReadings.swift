import LabGate

import Synchronization

/// The latest reading of every channel as the pipeline accepted it: taken from the pollers and
/// tagged with the lots inside. The status views (`/status`, the status page, the
/// `device_status` table behind `labgate status`) show these, so that they show what the store
/// and the engines were given, not a poll the pipeline has not taken (or never will, once it has
/// stopped). The pollers' own diagnostics stay in `PollCounters`.
public final class LatestReadings: Sendable {
    private let channels = Mutex<[String: [ChannelStatus]]>([:])

    public init() {}

    /// Records readings the pipeline accepted, in the order it took them.
    func record(_ readings: [Reading]) {
        guard !readings.isEmpty else { return }
        channels.withLock { all in
            for reading in readings { all[reading.device, default: []].update(with: reading) }
        }
    }

    /// Every device's channels, each in the order its readings first came.
    public func snapshot() -> [String: [ChannelStatus]] {
        channels.withLock { $0 }
    }
}

extension [ChannelStatus] {
    /// Makes `reading` its channel's latest, keeping the latest good value when it has none.
    mutating func update(with reading: Reading) {
        var channel = ChannelStatus(
            channel: reading.channel, time: reading.time, value: reading.value, quality: reading.quality,
            detail: reading.detail)
        let index = firstIndex { $0.channel == reading.channel }
        if let index {
            channel.lastGoodValue = self[index].lastGoodValue
            channel.lastGoodTime = self[index].lastGoodTime
        }
        if reading.quality == .good, let value = reading.value {
            channel.lastGoodValue = value
            channel.lastGoodTime = reading.time
        }
        if let index { self[index] = channel } else { append(channel) }
    }
}
