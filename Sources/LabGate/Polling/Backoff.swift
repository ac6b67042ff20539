/// The backoff state of one device, on any clock (the daemon's monotonic clock, or a hand-driven
/// one in tests).
///
/// After the k-th poll in a row that got no answer, the device is not polled again until
/// `min(initial · 2^(k−1), maximum)` after the start of that poll: its slots in between are skipped
/// (and recorded as such), the first slot after that is a probe. An answer resets everything. With
/// the default `initial` equal to the poll period, one failed poll skips nothing; a dead device is
/// then tried at slots 0, 1, 3, 7, 15, … until the gap reaches `maximum`. So it costs the other
/// devices on its bus at most one probe (one timeout, since a probe is not retried) per gap.
struct Backoff<Instant: InstantProtocol> where Instant.Duration == Swift.Duration {
    let policy: BackoffPolicy
    /// Polls in a row that got no answer.
    private(set) var failures = 0
    /// When the device may be polled again (nil: at its next slot).
    private(set) var nextTry: Instant?

    init(policy: BackoffPolicy) {
        self.policy = policy
    }

    /// Whether the slot due at `slot` is skipped.
    func skips(_ slot: Instant) -> Bool {
        nextTry.map { slot < $0 } ?? false
    }

    /// Whether the next poll is a probe (the previous one got no answer).
    var isProbing: Bool { failures > 0 }

    /// Records a poll that started at `start` and got no answer.
    mutating func failed(startedAt start: Instant) {
        failures += 1
        nextTry = start.advanced(by: policy.delay(afterFailures: failures))
    }

    /// Records a poll that got an answer.
    mutating func answered() {
        failures = 0
        nextTry = nil
    }
}
