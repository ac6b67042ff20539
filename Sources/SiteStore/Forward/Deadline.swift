import Synchronization

/// Runs `work` and gives up on it after `deadline` (or when the caller is cancelled), calling
/// `abandon` then: the forwarder closes its connection there. The work is left to end on its
/// own rather than waited for, because a call on a connection that a server closed under it may
/// never return; a structured task group would wait for it for ever.
package func withDeadline<T: Sendable>(
    _ deadline: Duration, abandon: @escaping @Sendable () async -> Void, _ work: @escaping @Sendable () async throws -> T
) async throws -> T {
    let outcome = Outcome<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            outcome.start(continuation)
            let task = Task {
                do { outcome.finish(.success(try await work())) } catch { outcome.finish(.failure(error)) }
            }
            Task {
                try? await Task.sleep(for: deadline)
                if outcome.finish(.failure(DeadlinePassed(deadline: deadline))) {
                    task.cancel()
                    await abandon()
                }
            }
        }
    } onCancel: {
        outcome.finish(.failure(CancellationError()))
    }
}

struct DeadlinePassed: Error, CustomStringConvertible {
    let deadline: Duration
    var description: String { "no answer within \(deadline): connection dropped" }
}

/// The first of several results resumes the continuation; the rest are dropped.
private final class Outcome<T: Sendable>: Sendable {
    private let state = Mutex<(continuation: CheckedContinuation<T, any Error>?, early: Result<T, any Error>?, done: Bool)>((nil, nil, false))

    func start(_ continuation: CheckedContinuation<T, any Error>) {
        let early: Result<T, any Error>? = state.withLock { state in
            if let early = state.early { return early }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(with: early) }
    }

    /// Whether this result was the first.
    @discardableResult
    func finish(_ result: Result<T, any Error>) -> Bool {
        let (first, continuation): (Bool, CheckedContinuation<T, any Error>?) = state.withLock { state in
            guard !state.done else { return (false, nil) }
            state.done = true
            if let continuation = state.continuation {
                state.continuation = nil
                return (true, continuation)
            }
            state.early = result
            return (true, nil)
        }
        continuation?.resume(with: result)
        return first
    }
}
