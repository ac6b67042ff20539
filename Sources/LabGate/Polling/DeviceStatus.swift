import Foundation

/// Transaction outcomes of one device: every request sent counts once (a retry is a transaction).
public struct TransactionCounts: Sendable, Hashable, Codable {
    /// Replies with the registers asked for.
    public var ok = 0
    public var timeout = 0
    /// Replies whose checksum did not match (RTU).
    public var badCRC = 0
    /// Replies that did not fit the request (length, function, transaction or unit).
    public var badResponse = 0
    /// Connection failures (refused, reset, closed, port gone).
    public var disconnected = 0
    /// Exception replies by exception code (6 = server device busy).
    public var exceptions: [UInt8: Int] = [:]

    public init() {}

    public var failed: Int { timeout + badCRC + badResponse + disconnected + exceptions.values.reduce(0, +) }
    public var total: Int { ok + failed }
}

/// Transaction times of the replies a device sent (successful or exception), in seconds.
public struct LatencySummary: Sendable, Hashable, Codable {
    public var count: Int
    public var p50: Double
    public var p99: Double
    public var max: Double

    public init(count: Int, p50: Double, p99: Double, max: Double) {
        self.count = count
        self.p50 = p50
        self.p99 = p99
        self.max = max
    }
}

/// How well the bus schedulers kept their fixed-rate slots, over every device.
public struct ScheduleSummary: Sendable, Hashable {
    /// Polls started (skipped backoff slots included).
    public var polls: Int
    /// How late each poll started against its slot, in seconds; nil before the first poll.
    public var lateness: LatencySummary?
    /// Slots that passed before their poll could start, so were never polled.
    public var missedSlots: Int

    public init(polls: Int, lateness: LatencySummary?, missedSlots: Int) {
        self.polls = polls
        self.lateness = lateness
        self.missedSlots = missedSlots
    }
}

/// The latest state of one channel of a device.
public struct ChannelStatus: Sendable, Hashable, Codable {
    public var channel: String
    /// Time of the latest reading (good or not).
    public var time: Date
    public var value: Double?
    public var quality: Quality
    public var detail: String?
    /// The latest good reading, which may be older than the latest reading.
    public var lastGoodValue: Double?
    public var lastGoodTime: Date?

    public init(
        channel: String, time: Date, value: Double?, quality: Quality, detail: String? = nil,
        lastGoodValue: Double? = nil, lastGoodTime: Date? = nil
    ) {
        self.channel = channel
        self.time = time
        self.value = value
        self.quality = quality
        self.detail = detail
        self.lastGoodValue = lastGoodValue
        self.lastGoodTime = lastGoodTime
    }
}

/// Everything an operator needs about one device's polling, as `labgate status` shows it and the
/// store keeps it (table `device_status`, one row per device, rewritten every few seconds).
public struct DeviceStatus: Sendable, Hashable {
    public var device: String
    /// When this snapshot was taken.
    public var updated: Date
    /// Start of the latest poll (or skipped slot).
    public var lastPoll: Date?
    /// Start of the latest poll that got any answer.
    public var lastAnswer: Date?
    /// Polls that got an answer, polls that got none, slots skipped during backoff.
    public var pollsAnswered = 0
    public var pollsFailed = 0
    public var pollsSkipped = 0
    /// Polls in a row that got no answer (0 while the device answers).
    public var consecutiveFailures = 0
    /// While backing off: when the next attempt is due.
    public var nextTry: Date?
    public var transactions = TransactionCounts()
    public var latency: LatencySummary?
    public var lastError: String?
    public var lastErrorTime: Date?
    /// In profile order.
    public var channels: [ChannelStatus] = []

    public init(device: String, updated: Date) {
        self.device = device
        self.updated = updated
    }

    /// "ok", "failing" (the latest polls got no answer), "unreachable" (at least `unreachableAfter`
    /// of them) or "not polled yet".
    public func state(unreachableAfter: Int) -> String {
        if lastPoll == nil { return "not polled yet" }
        if consecutiveFailures == 0 { return "ok" }
        return consecutiveFailures >= unreachableAfter ? "unreachable" : "failing"
    }
}
