import Synchronization

/// When a bus's poller leaves the line free for an output write, and whose turn it is to write.
///
/// The poller says when it starts polling and, before it waits for its next slot, until when the
/// line is free (the slot less the silence the next request needs). A write waits for its turn
/// (writes go one at a time, in the order they came: an "on" then an "off" must land in that
/// order) and for a gap; it then goes only if it fits in what is left of the gap (see
/// `RelayOutputs`), else it waits for the next gap, first in line. Without a poller (a bus with
/// nothing to poll, or polling stopped) the line is free for good.
///
/// The poller and the writes all run on the bus owner's thread; the lock only guards the state
/// against the cancellation handler, which may run anywhere.
final class PollGaps: Sendable {
    /// What a write that has its turn may use.
    struct Window: Sendable {
        /// The write must be over by then; nil: no poll is coming.
        var freeUntil: ContinuousClock.Instant?
        /// Which gap this is (a write that did not fit waits for a later one).
        var gap: UInt64
    }

    private struct Waiter {
        let id: UInt64
        /// Only a gap after this one will do (nil: the current one, if any).
        let after: UInt64?
        let continuation: CheckedContinuation<Window?, Never>
    }

    private struct State {
        /// A poll is under way (or the poller is behind its schedule and polls back to back).
        var polling = false
        /// While not polling: until when the line is free; nil: for good.
        var freeUntil: ContinuousClock.Instant?
        var gap: UInt64 = 0
        /// A write has its turn.
        var writing = false
        var waiters: [Waiter] = []
        var nextID: UInt64 = 0

        func eligible(_ waiter: Waiter) -> Bool {
            guard !writing, !polling else { return false }
            guard let after = waiter.after, freeUntil != nil else { return true }
            return gap > after
        }

        var window: Window { Window(freeUntil: freeUntil, gap: gap) }

        /// Gives the turn to the first waiter if it may go now; the continuation to resume.
        mutating func handOver() -> (CheckedContinuation<Window?, Never>, Window)? {
            guard let first = waiters.first, eligible(first) else { return nil }
            waiters.removeFirst()
            writing = true
            return (first.continuation, window)
        }
    }

    private let state: Mutex<State>

    /// `polling`: a poller will run (the line is busy until it first waits); else free for good.
    init(polling: Bool = false) {
        var initial = State()
        initial.polling = polling
        state = Mutex(initial)
    }

    // MARK: the poller

    /// A poll starts: writes wait.
    func pollStarts() {
        state.withLock { $0.polling = true }
    }

    /// The poller waits for its next slot: the line is free until `until`.
    func gapBegins(until: ContinuousClock.Instant) {
        resume(state.withLock { state in
            state.polling = false
            state.freeUntil = until
            state.gap += 1
            return state.handOver()
        })
    }

    /// The poller has stopped: the line is free for good.
    func pollerStopped() {
        resume(state.withLock { state in
            state.polling = false
            state.freeUntil = nil
            state.gap += 1
            return state.handOver()
        })
    }

    // MARK: the writes

    /// Waits for the turn and a gap. A write that has the turn but did not fit in its gap passes
    /// `after` (that gap): it gives the turn up and waits, first in line, for a later gap. Nil when
    /// the task was cancelled or `deadline` passed first.
    func turn(after: UInt64? = nil, deadline: ContinuousClock.Instant? = nil) async -> Window? {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        let timer = deadline.map { deadline in
            Task { [self] in
                try? await Task.sleep(until: deadline)
                if !Task.isCancelled { drop(id) }
            }
        }
        defer { timer?.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Window?, Never>) in
                enum Outcome { case go(Window), cancelled, queued }
                let first = after != nil
                let (outcome, next) = state.withLock { state -> (Outcome, (CheckedContinuation<Window?, Never>, Window)?) in
                    if first { state.writing = false }
                    let waiter = Waiter(id: id, after: after, continuation: continuation)
                    if Task.isCancelled || deadline.map({ ContinuousClock.now >= $0 }) == true {
                        return (.cancelled, state.handOver())
                    }
                    if state.waiters.isEmpty || first, state.eligible(waiter) {
                        state.writing = true
                        return (.go(state.window), nil)
                    }
                    if first { state.waiters.insert(waiter, at: 0) } else { state.waiters.append(waiter) }
                    return (.queued, nil)
                }
                resume(next)
                switch outcome {
                case let .go(window): continuation.resume(returning: window)
                case .cancelled: continuation.resume(returning: nil)
                case .queued: break
                }
            }
        } onCancel: {
            drop(id)
        }
    }

    /// Takes waiter `id` out of the line (cancelled, or its deadline passed): it gets nil.
    private func drop(_ id: UInt64) {
        let (dropped, next) = state.withLock { state -> (CheckedContinuation<Window?, Never>?, (CheckedContinuation<Window?, Never>, Window)?) in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return (nil, nil) }
            let waiter = state.waiters.remove(at: index)
            // The one behind it may be free to go now.
            return (waiter.continuation, state.handOver())
        }
        dropped?.resume(returning: nil)
        resume(next)
    }

    /// The write that had the turn is done: the next may go.
    func release() {
        resume(state.withLock { state in
            state.writing = false
            return state.handOver()
        })
    }

    private func resume(_ handover: (CheckedContinuation<Window?, Never>, Window)?) {
        guard let (continuation, window) = handover else { return }
        continuation.resume(returning: window)
    }
}
