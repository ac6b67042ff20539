import Foundation
import Modbus

/// Polls the devices of one bus, each at its own fixed rate (see `FixedRateSchedule`), and
/// reports the bus going down (its port or endpoint cannot be opened: adapter unplugged, peer
/// gone) and coming back (a transaction answered again). While it is down, each poll still tries
/// (the bus owner holds off repeated attempts within one round), so it comes back without a restart.
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
            let result = await poller.poll(on: bus, counters: counters)
            // A bus going down is told before the poll it failed, coming back before the poll that
            // proved it.
            for change in await bus.takeLinkEvents() {
                deliver(.bus(BusStatusChange(bus: bus.name, time: change.time, up: change.up, reason: change.reason)))
            }
            deliver(.poll(result))
            let skipped = schedule.completed(index, now: clock.now)
            if skipped > 0 { missed(poller.device.id, skipped) }
        }
    }
}
