import Foundation
import LabGate
import Synchronization

/// Where forwarding stands, for `labgate status` and `/metrics`: how far the site store has
/// confirmed the readings, how many local readings it has not confirmed yet (the lag), and the
/// last success and error.
public final class ForwardState: Sendable {
    public struct Snapshot: Sendable, Codable, Equatable {
        public var gateway: String
        public var url: String
        public var connected: Bool = false
        /// The newest local reading's sequence, and the newest the site store confirmed.
        public var localReadings: Int64 = 0
        public var confirmedReadings: Int64 = 0
        /// Readings stored locally and not confirmed by the site store yet.
        public var lagReadings: Int64 { max(0, localReadings - confirmedReadings) }
        /// Seconds since the site store last held every local reading (0 while it does).
        public var lagSeconds: Double = 0
        public var forwardedReadings: Int64 = 0
        /// Deviations, alarms and device statuses sent (each only when it changed).
        public var forwardedRecords: Int64 = 0
        public var batches: Int64 = 0
        public var lastForward: Date?
        public var lastError: String?
        public var lastErrorTime: Date?
    }

    private let state: Mutex<Snapshot>
    /// Each stream's position the site store confirmed (`forward_position`, for month archives).
    private let positions = Mutex<[String: Int64]>([:])
    /// When the site store last held every local reading (monotonic lag clock).
    private let caughtUp = Mutex<ContinuousClock.Instant>(.now)

    public init(gateway: String, url: String) {
        state = Mutex(Snapshot(gateway: gateway, url: url))
    }

    public var snapshot: Snapshot {
        var snapshot = state.withLock { $0 }
        snapshot.lagSeconds = snapshot.lagReadings == 0 ? 0 : (ContinuousClock.now - caughtUp.withLock { $0 }).seconds
        return snapshot
    }

    /// The snapshot as the store keeps it for `labgate status`.
    func status() -> ForwardStatus {
        let now = snapshot
        return ForwardStatus(
            gateway: now.gateway, url: now.url, updated: Date(), connected: now.connected, localReadings: now.localReadings,
            confirmedReadings: now.confirmedReadings, lagSeconds: now.lagSeconds, lastForward: now.lastForward,
            lastError: now.lastError, lastErrorTime: now.lastErrorTime)
    }

    func confirmed(_ confirmed: [String: Int64]) { positions.withLock { $0 = confirmed } }

    var confirmedPositions: [String: Int64] { positions.withLock { $0 } }

    func connected(_ connected: Bool) { state.withLock { $0.connected = connected } }

    func observed(local: Int64, confirmed: Int64) {
        let caught = state.withLock { state in
            state.localReadings = max(state.localReadings, local)
            state.confirmedReadings = confirmed
            return confirmed >= state.localReadings
        }
        if caught { caughtUp.withLock { $0 = .now } }
    }

    func observedLocal(_ local: Int64) {
        let caught = state.withLock { state in
            state.localReadings = max(state.localReadings, local)
            return state.confirmedReadings >= state.localReadings
        }
        if caught { caughtUp.withLock { $0 = .now } }
    }

    func forwarded(readings: Int, records: Int = 0) {
        state.withLock {
            $0.forwardedReadings += Int64(readings)
            $0.forwardedRecords += Int64(records)
            $0.batches += 1
            $0.lastForward = Date()
        }
    }

    func failed(_ error: String) {
        state.withLock {
            $0.connected = false
            $0.lastError = error
            $0.lastErrorTime = Date()
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
