import Foundation

/// A step of the wall clock: the wall clock moved by `step` more than the monotonic clock did
/// between two looks (an NTP step, a wrong RTC at boot corrected, someone running `date -s`).
public struct ClockStep: Sendable, Hashable {
    /// What the wall clock would have read without the step (UTC milliseconds).
    public var expected: Int64
    /// What it read (UTC milliseconds).
    public var read: Int64
    /// The kernel's boot-time clock at that look (nanoseconds): orders the step among the
    /// monotonic stamps of the engine's state.
    public var monotonic: Int64

    /// Milliseconds the wall clock jumped: negative when it stepped back.
    public var step: Int64 { read - expected }

    public init(expected: Int64, read: Int64, monotonic: Int64) {
        self.expected = expected
        self.read = read
        self.monotonic = monotonic
    }

    /// "back by 1h0m0s" / "forward by 5.2s".
    public var summary: String {
        let size = DurationText.format(.milliseconds(abs(step)))
        return "wall clock stepped \(step < 0 ? "back" : "forward") by \(size): it read \(UTCTime.format(milliseconds: read)) where \(UTCTime.format(milliseconds: expected)) was due"
    }
}

/// Audited (`clock_stepped`) as `{"expected": UTC, "read": UTC, "step_ms": N, "monotonic_ns": N}`.
extension ClockStep: Codable {
    private enum CodingKeys: String, CodingKey {
        case expected, read, stepMS = "step_ms", monotonic = "monotonic_ns"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func time(_ key: CodingKeys) throws -> Int64 {
            let text = try container.decode(String.self, forKey: key)
            guard let date = UTCTime.parse(text) else {
                throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "not a UTC time: \(text)")
            }
            return date.millisecondsSince1970
        }
        expected = try time(.expected)
        read = try time(.read)
        monotonic = try container.decode(Int64.self, forKey: .monotonic)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(UTCTime.format(milliseconds: expected), forKey: .expected)
        try container.encode(UTCTime.format(milliseconds: read), forKey: .read)
        try container.encode(step, forKey: .stepMS)
        try container.encode(monotonic, forKey: .monotonic)
    }
}

/// Finds steps of the wall clock by comparing it with the monotonic clock at each look: their
/// difference moves only when the wall clock is set (slewing by NTP moves it by at most 0.5 ms
/// a second, far below `threshold`).
public struct ClockStepDetector: Sendable {
    /// A step smaller than this is not reported: sampling jitter and slewing stay well below it.
    public static let threshold: Int64 = 2_000

    /// Wall milliseconds minus monotonic milliseconds at the last look.
    private var offset: Int64?

    public init() {}

    /// The kernel's boot-time clock now, in nanoseconds (monotonic, counts suspend).
    public static func monotonicNow() -> Int64 { StampClock.bootTime() }

    /// Looks at both clocks (wall in UTC milliseconds, monotonic in nanoseconds); returns the step
    /// since the last look, if any.
    public mutating func look(wall: Int64, monotonic: Int64) -> ClockStep? {
        let now = wall - monotonic / 1_000_000
        defer { offset = now }
        guard let offset, abs(now - offset) > Self.threshold else { return nil }
        return ClockStep(expected: wall - (now - offset), read: wall, monotonic: monotonic)
    }
}
