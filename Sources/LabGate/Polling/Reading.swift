import Foundation

/// How much a reading can be trusted. Only `good` readings carry a value.
public enum Quality: String, Sendable, CaseIterable, Codable {
    case good
    /// The device sent a sentinel, NaN or infinity: the sensor says it has no measurement.
    case sensorFault = "sensor_fault"
    case timeout
    /// The device answered with a Modbus exception.
    case exception
    /// A reply that did not fit the request (garbage, wrong length, bad CRC).
    case badResponse = "bad_response"
    /// No connection to the device (refused, reset, unreachable).
    case disconnected
    /// Not polled: the device is being left alone after failed polls (see `BackoffPolicy`). The
    /// reading is a placeholder that keeps the gap in the data visible and measured.
    ///
    /// New cases go at the end: the store keeps qualities by their position in `allCases`.
    case skipped
}

/// One channel's value at one moment, as stored: never a made-up number for a failed read.
public struct Reading: Sendable, Hashable {
    public var device: String
    public var channel: String
    /// UTC wall-clock time of the poll.
    public var time: Date
    /// Present exactly when `quality` is `good`.
    public var value: Double?
    public var quality: Quality
    /// Why the quality is bad, e.g. "exception 2 (illegal data address)".
    public var detail: String?
    /// The culture lots inside the device at `time`, fixed when the reading is stored.
    public var lots: [String]

    public init(
        device: String, channel: String, time: Date, value: Double?, quality: Quality, detail: String? = nil,
        lots: [String] = []
    ) {
        self.device = device
        self.channel = channel
        self.time = time
        self.value = quality == .good ? value : nil
        self.quality = quality
        self.detail = detail
        self.lots = lots
    }
}

/// Everything one poll of one device produced.
public struct PollResult: Sendable {
    public var device: String
    public var time: Date
    /// When the poll happened on the monotonic clock; delays are measured on this, not `time`.
    public var instant: ContinuousClock.Instant
    public var readings: [Reading]
    /// Set when the device as a whole did not answer (every reading then has a bad quality).
    public var failure: String?
    /// The slot was not polled (backoff): every reading is `skipped`, and `failure` says why.
    /// Reachability is not re-judged on a skipped slot.
    public var skipped: Bool

    public init(
        device: String, time: Date, instant: ContinuousClock.Instant, readings: [Reading], failure: String?,
        skipped: Bool = false
    ) {
        self.device = device
        self.time = time
        self.instant = instant
        self.readings = readings
        self.failure = failure
        self.skipped = skipped
    }
}

/// What the pollers hand to the pipeline: a device's poll, or a change of a whole bus's state.
public enum PollingEvent: Sendable {
    case poll(PollResult)
    case bus(BusStatusChange)
}

/// A bus (TCP endpoint or serial port) went down or came back.
public struct BusStatusChange: Sendable, Hashable {
    public var bus: String
    public var time: Date
    public var up: Bool
    /// Why it went down, e.g. "/dev/ttyUSB0: No such file or directory".
    public var reason: String?

    public init(bus: String, time: Date, up: Bool, reason: String? = nil) {
        self.bus = bus
        self.time = time
        self.up = up
        self.reason = reason
    }
}
