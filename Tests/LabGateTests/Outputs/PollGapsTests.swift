import Synchronization
import Testing
@testable import LabGate

/// The turn-taking between a bus's poller and its output writes, without a bus.
@Suite("Poll gaps: writes wait for the poller's gaps and go one at a time, in order")
struct PollGapsTests {
    @Test("a write asked for during a poll waits until the poller waits for its next slot, and learns until when the line is free")
    func waitsForTheGap() async throws {
        let gaps = PollGaps(polling: true)
        let task = Task { await gaps.turn() }
        try await Task.sleep(for: .milliseconds(50))
        let slot = ContinuousClock.now + .milliseconds(500)
        gaps.gapBegins(until: slot)
        let window = try #require(await task.value)
        #expect(window.freeUntil == slot)
        gaps.release()
    }

    @Test("a write that found its gap too short waits, first in line, for a later gap; writes go in the order asked")
    func nextGapInOrder() async throws {
        let gaps = PollGaps(polling: true)
        let order = Order()
        gaps.gapBegins(until: .now + .milliseconds(1))
        let first = try #require(await gaps.turn())
        // Another write asks while the first has the turn.
        let second = Task {
            let window = await gaps.turn()
            order.append("second")
            gaps.release()
            return window
        }
        try await Task.sleep(for: .milliseconds(20))
        // Too short: the first gives the turn up and waits for the next gap, ahead of the second.
        let retry = Task {
            let window = await gaps.turn(after: first.gap)
            order.append("first")
            gaps.release()
            return window
        }
        try await Task.sleep(for: .milliseconds(20))
        #expect(order.all.isEmpty, "nobody goes in the gap that was too short")
        gaps.pollStarts()
        gaps.gapBegins(until: .now + .seconds(1))
        #expect(await retry.value?.gap == first.gap + 1)
        _ = await second.value
        #expect(order.all == ["first", "second"])
    }

    @Test("a write with a deadline gives up when no gap comes in time; the poller stopping frees the line for good")
    func deadlineAndStop() async throws {
        let gaps = PollGaps(polling: true)
        let start = ContinuousClock.now
        #expect(await gaps.turn(deadline: .now + .milliseconds(100)) == nil)
        #expect(start.duration(to: .now) >= .milliseconds(100))
        let waiting = Task { await gaps.turn() }
        try await Task.sleep(for: .milliseconds(20))
        gaps.pollerStopped()
        let window = try #require(await waiting.value)
        #expect(window.freeUntil == nil)
        gaps.release()
    }
}

/// Who went, in order, from several tasks.
private final class Order: Sendable {
    private let names = Mutex<[String]>([])
    func append(_ name: String) { names.withLock { $0.append(name) } }
    var all: [String] { names.withLock { $0 } }
}
