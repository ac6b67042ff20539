import Foundation
import Testing

@testable import LabGate
@testable import LabGateDaemon

@Suite struct PipelineInboxTests {
    private func poll(_ device: String, _ number: Int) -> PollingEvent {
        .poll(PollResult(
            device: device, time: Date(timeIntervalSince1970: Double(number)), instant: .now, readings: [], failure: nil))
    }

    private func numbers(_ events: [PollingEvent], of device: String) -> [Int] {
        events.compactMap {
            guard case let .poll(poll) = $0, poll.device == device else { return nil }
            return Int(poll.time.timeIntervalSince1970)
        }
    }

    @Test("every event delivered from several bus threads at once is taken, each bus's in its order, then nil after the end")
    func concurrentDelivery() async {
        let inbox = PipelineInbox()
        let perBus = 20_000
        let buses = ["bus-a", "bus-b", "bus-c"]
        let consumer = Task {
            var taken: [PollingEvent] = []
            var takes = 0
            while let batch = await inbox.take() {
                taken += batch.events
                takes += 1
            }
            return (taken, takes)
        }
        await withTaskGroup(of: Void.self) { group in
            for bus in buses {
                group.addTask {
                    for number in 0..<perBus { inbox.deliver(poll(bus, number)) }
                }
            }
        }
        inbox.end()
        let (taken, takes) = await consumer.value
        #expect(taken.count == perBus * buses.count)
        for bus in buses {
            let got = numbers(taken, of: bus)
            #expect(got == Array(0..<perBus), "\(bus): \(got.count) events, in order: \(got == got.sorted())")
        }
        #expect(takes <= taken.count)
    }

    @Test("a waiting pipeline wakes for an event and for a tick; ticks are counted, not lost")
    func wakesAndTicks() async throws {
        let inbox = PipelineInbox()
        let first = Task { await inbox.take() }
        try await Task.sleep(for: .milliseconds(50))  // the take is waiting by now
        inbox.deliver(poll("INC-01", 1))
        let batch = try #require(await first.value)
        #expect(numbers(batch.events, of: "INC-01") == [1])
        #expect(batch.ticks == 0)

        inbox.tick()
        inbox.tick()
        inbox.deliver(poll("INC-01", 2))
        let second = try #require(await inbox.take())
        #expect(second.ticks == 2)
        #expect(numbers(second.events, of: "INC-01") == [2])
    }

    @Test("events delivered before the end are still taken; nothing is taken after it")
    func endKeepsWhatCame() async throws {
        let inbox = PipelineInbox()
        inbox.deliver(poll("INC-01", 1))
        inbox.end()
        inbox.deliver(poll("INC-01", 2))
        let batch = try #require(await inbox.take())
        #expect(numbers(batch.events, of: "INC-01") == [1])
        #expect(await inbox.take() == nil)
    }

    @Test("a cancelled pipeline stops waiting, but first takes what was delivered")
    func cancellation() async throws {
        let inbox = PipelineInbox()
        let waiting = Task { await inbox.take() }
        try await Task.sleep(for: .milliseconds(50))
        waiting.cancel()
        #expect(await waiting.value == nil)

        inbox.deliver(poll("INC-01", 7))
        let draining = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await inbox.take()
        }
        let batch = try #require(await draining.value)
        #expect(numbers(batch.events, of: "INC-01") == [7])
    }
}
