import Foundation
import Modbus

/// Polls the devices of one bus, each at its own fixed rate (see `FixedRateSchedule`).
struct BusPoller: Sendable {
    let bus: ModbusBus
    let pollers: [DevicePoller]
    let counters: PollCounters
    let heartbeat: SchedulerHeartbeat

    func run(deliver: @Sendable (PollingEvent) -> Void, missed: @Sendable (String, Int) -> Void) async {
        let clock = ContinuousClock()
        var schedule = FixedRateSchedule(start: clock.now, periods: pollers.map(\.device.every))
        // The longest one poll may take: every request timing out on every attempt, plus slack.
        let pollBound = pollers.map(\.worstCase).max() ?? .zero
        defer { heartbeat.finished(bus: bus.name) }
        while !Task.isCancelled, let (index, at) = schedule.next {
            heartbeat.expect(bus: bus.name, backBy: max(at, clock.now) + pollBound + .seconds(5))
            do {
                try await clock.sleep(until: at)
            } catch {
                return
            }
            let poller = pollers[index]
            deliver(.poll(await poller.poll(on: bus, counters: counters)))
            let skipped = schedule.completed(index, now: clock.now)
            if skipped > 0 { missed(poller.device.id, skipped) }
        }
    }
}
