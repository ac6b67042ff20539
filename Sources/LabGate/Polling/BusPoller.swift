import Foundation
import Modbus

/// Polls the devices of one bus, each at its own fixed rate: a poll is due at start + k·every,
/// whatever the previous replies cost, so the schedule never drifts. A poll that is late runs at
/// once; one a whole period late is skipped and counted, so a slow bus never piles up polls.
struct BusPoller: Sendable {
    let bus: ModbusBus
    let pollers: [DevicePoller]
    let counters: PollCounters

    func run(deliver: @Sendable (PollResult) -> Void, missed: @Sendable (String) -> Void) async {
        let clock = ContinuousClock()
        let start = clock.now
        var due = pollers.map { _ in start }
        while !Task.isCancelled {
            guard let index = due.indices.min(by: { due[$0] < due[$1] }) else { return }
            do {
                try await clock.sleep(until: due[index])
            } catch {
                return
            }
            let poller = pollers[index]
            let result = await poller.poll(on: bus, counters: counters)
            deliver(result)
            let every = poller.device.every
            var next = due[index] + every
            let now = clock.now
            while next + every <= now {
                missed(poller.device.id)
                next += every
            }
            due[index] = next
        }
    }
}
