import Modbus
import Synchronization

/// Runs password checks on threads of their own, never on the cooperative pool: a check blocks
/// for as long as PAM takes (a failed one sleeps on purpose, about 2 s with pam_unix; pam_sss
/// may wait on a directory server). Up to `size` checks run at once, so that one signer's slow
/// PAM stack (a directory that does not answer, a failed guess's delay) does not make every
/// other signer wait; the threads are started only when a check finds the others busy. A user's
/// own checks run one after another on the same thread, as with a single thread: parallel
/// guesses at one user's password gain nothing on the lockout.
final class PasswordCheckPool: Sendable {
    static let defaultSize = 3

    private struct Load {
        var threads: [PasswordCheckThread] = []
        /// Checks queued or running, per thread.
        var inFlight: [Int] = []
        /// The thread a user's checks in flight run on, and how many there are.
        var users: [String: (thread: Int, checks: Int)] = [:]
    }

    private let checker: any PasswordChecker
    private let size: Int
    private let load = Mutex(Load())

    init(checker: any PasswordChecker, size: Int = PasswordCheckPool.defaultSize) {
        self.checker = checker
        self.size = max(size, 1)
    }

    /// How many threads have been started (tests).
    var threads: Int { load.withLock { $0.threads.count } }

    func check(user: String, password: String) async -> (PasswordVerdict, fullName: String) {
        let (thread, index) = take(user)
        let result = await thread.check(user: user, password: password)
        load.withLock { load in
            load.inFlight[index] -= 1
            if let held = load.users[user], held.checks > 1 {
                load.users[user] = (held.thread, held.checks - 1)
            } else {
                load.users[user] = nil
            }
        }
        return result
    }

    private func take(_ user: String) -> (PasswordCheckThread, Int) {
        load.withLock { load in
            let index: Int
            if let held = load.users[user] {
                index = held.thread
            } else if let idle = load.inFlight.firstIndex(of: 0) {
                index = idle
            } else if load.threads.count < size {
                load.threads.append(PasswordCheckThread(checker: checker, number: load.threads.count + 1))
                load.inFlight.append(0)
                index = load.threads.count - 1
            } else {
                index = load.inFlight.indices.min { load.inFlight[$0] < load.inFlight[$1] } ?? 0
            }
            load.inFlight[index] += 1
            load.users[user] = (index, (load.users[user]?.checks ?? 0) + 1)
            return (load.threads[index], index)
        }
    }
}

/// One thread of `PasswordCheckPool`.
actor PasswordCheckThread {
    private let checker: any PasswordChecker
    private let executor: ThreadExecutor

    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    init(checker: any PasswordChecker, number: Int) {
        self.checker = checker
        executor = ThreadExecutor(name: "password checks \(number)")
    }

    deinit { executor.shutdown() }

    func check(user: String, password: String) -> (PasswordVerdict, fullName: String) {
        (checker.check(user: user, password: password), UserDirectory.fullName(of: user))
    }
}
