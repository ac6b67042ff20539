import LabGate
import Synchronization

/// The hand-off from the bus pollers (each on its bus's thread) to the pipeline: delivering is an
/// append under a lock, and the pipeline takes everything delivered since it last looked in one
/// go. An `AsyncStream` did the same one event at a time: a lock, a generic deque and a
/// continuation per event, a sixth of a bus thread's time when polling back to back
/// (BENCHMARKS.md, Modbus TCP polling).
final class PipelineInbox: Sendable {
    /// What came since the last take: the events in the order delivered, and how many ticks of the
    /// pipeline's timer.
    struct Batch {
        var events: [PollingEvent]
        var ticks: Int
    }

    private struct State {
        var events: [PollingEvent] = []
        var ticks = 0
        var ended = false
        var waiter: UnsafeContinuation<Void, Never>?

        var isEmpty: Bool { events.isEmpty && ticks == 0 }

        mutating func takeWaiter() -> UnsafeContinuation<Void, Never>? {
            defer { waiter = nil }
            return waiter
        }
    }

    private let state = Mutex(State())

    func deliver(_ event: PollingEvent) {
        state.withLock { state -> UnsafeContinuation<Void, Never>? in
            guard !state.ended else { return nil }
            state.events.append(event)
            return state.takeWaiter()
        }?.resume()
    }

    func tick() {
        state.withLock { state -> UnsafeContinuation<Void, Never>? in
            state.ticks += 1
            return state.takeWaiter()
        }?.resume()
    }

    /// Nothing more will be delivered; what was delivered is still taken.
    func end() {
        state.withLock { state -> UnsafeContinuation<Void, Never>? in
            state.ended = true
            return state.takeWaiter()
        }?.resume()
    }

    /// Waits until something was delivered, then takes all of it; nil once the input ended (or
    /// the task was cancelled) and everything delivered was taken.
    func take() async -> Batch? {
        var events: [PollingEvent] = []
        while true {
            let taken = state.withLock { state -> Batch?? in
                if !state.isEmpty {
                    // The emptied array keeps the last batch's capacity for the next.
                    events.reserveCapacity(state.events.count)
                    swap(&events, &state.events)
                    defer { state.ticks = 0 }
                    return Batch(events: events, ticks: state.ticks)
                }
                return state.ended ? .some(nil) : nil
            }
            if let taken { return taken }
            if Task.isCancelled { return nil }
            await withTaskCancellationHandler {
                await withUnsafeContinuation { (waiter: UnsafeContinuation<Void, Never>) in
                    let waitsFor = state.withLock { state in
                        // Cancelled before the waiter is stored: the handler below found none.
                        guard state.isEmpty, !state.ended, !Task.isCancelled else { return false }
                        state.waiter = waiter
                        return true
                    }
                    if !waitsFor { waiter.resume() }
                }
            } onCancel: {
                state.withLock { $0.takeWaiter() }?.resume()
            }
        }
    }
}
