import Synchronization

/// Waits for some work or a deadline, whichever comes first, leaving the work to finish by
/// itself when the deadline wins (a commit once begun is not cancelled halfway).
enum FirstOf {
    static func wait(until deadline: ContinuousClock.Instant, _ work: @escaping @Sendable () async -> Void) async {
        let waiter = Waiter()
        await withCheckedContinuation { continuation in
            waiter.set(continuation)
            Task {
                await work()
                waiter.resume()
            }
            Task {
                try? await Task.sleep(until: deadline)
                waiter.resume()
            }
        }
    }

    /// A continuation resumed by whichever comes first.
    private final class Waiter: Sendable {
        private let continuation = Mutex<CheckedContinuation<Void, Never>?>(nil)

        func set(_ continuation: CheckedContinuation<Void, Never>) { self.continuation.withLock { $0 = continuation } }

        func resume() { continuation.withLock { $0.take() }?.resume() }
    }
}
