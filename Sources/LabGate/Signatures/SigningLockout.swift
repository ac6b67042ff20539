import Foundation
import Synchronization

/// Repeated failed signatures lock signing for that user for a while (21 CFR 11.300(d): attempts
/// at unauthorized use are detected and acted on): `failures` refusals within `window` lock it
/// for `duration`; a successful signature clears the count. Kept in memory and rebuilt from the
/// audit trail when a signer starts, so neither a restart nor a reload clears a lock.
public struct SigningLockout: Sendable, Hashable {
    public var failures: Int
    public var window: TimeInterval
    public var duration: TimeInterval

    public init(failures: Int = 5, window: TimeInterval = 15 * 60, duration: TimeInterval = 15 * 60) {
        self.failures = failures
        self.window = window
        self.duration = duration
    }
}

/// Each user's recent failed signatures and lock.
final class SigningAttempts: Sendable {
    private struct Attempts {
        var failures: [Date] = []
        var lockedUntil: Date?
    }

    let policy: SigningLockout
    private let users = Mutex<[String: Attempts]>([:])

    init(policy: SigningLockout) {
        self.policy = policy
    }

    /// The end of the user's lock, when it is locked at `now`.
    func lockedUntil(_ user: String, now: Date) -> Date? {
        users.withLock { users in
            guard let until = users[user]?.lockedUntil else { return nil }
            if until > now { return until }
            users[user] = nil
            return nil
        }
    }

    /// Counts a failure; returns how many are within the window and, when this one locks
    /// signing, until when.
    func fail(_ user: String, now: Date) -> (count: Int, lockedUntil: Date?) {
        users.withLock { users in
            var attempts = users[user] ?? Attempts()
            attempts.failures = attempts.failures.filter { now.timeIntervalSince($0) < policy.window } + [now]
            var locked: Date?
            if attempts.failures.count >= policy.failures {
                locked = now.addingTimeInterval(policy.duration)
                attempts.lockedUntil = locked
                attempts.failures = []
            }
            users[user] = attempts
            return (locked == nil ? attempts.failures.count : policy.failures, locked)
        }
    }

    func succeed(_ user: String) {
        users.withLock { $0[user] = nil }
    }

    /// Replays the trail's recent signing entries (oldest first): failed passwords count again
    /// and lock as they did, a signature clears the count. Refusals while locked are not
    /// failures of a password and do not count.
    func replay(_ entries: [(user: String, action: String, reason: String?, time: Date)]) {
        for entry in entries {
            switch entry.action {
            case "signature_failed" where entry.reason?.hasPrefix(Self.passwordRefused) == true:
                _ = fail(entry.user, now: entry.time)
            case "signed":
                succeed(entry.user)
            default:
                break
            }
        }
    }

    /// How the audited reason of a refused password begins.
    static let passwordRefused = "password not accepted"
}
