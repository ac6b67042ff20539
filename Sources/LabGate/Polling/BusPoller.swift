import Foundation
import Modbus

/// Polls the devices of one bus, each at its own fixed rate (see `FixedRateSchedule`), leaving a
/// device that stopped answering alone with exponential backoff (see `Backoff`) so that it cannot
/// starve the others: its skipped slots are delivered as `skipped` readings, never silently lost.
///
/// It also reports the bus going down (its port or endpoint cannot be opened: adapter unplugged,
/// peer gone) and coming back (a transaction answered again). While it is down, each poll still
/// tries (the bus owner holds off repeated attempts within one round), so it comes back without a
/// restart. Before each wait it tells the heartbeat by when it will be back, for the watchdog.
/// Each poll's lateness against its slot, and every slot missed, go to the counters.
struct BusPoller: Sendable {
    let bus: ModbusBus
    let pollers: [DevicePoller]
    let counters: PollCounters
    let heartbeat: SchedulerHeartbeat
    /// Where this bus's slots fall within the period (see `FixedRateSchedule.phased`): bus b of
    /// B has b/B.
    var phase: Double = 0
    /// Told when the line is free for output writes between polls (see `RelayOutputs`).
    var gaps: PollGaps?

    /// Longest a bus behind its schedule keeps its owner without yielding.
    static let fairness = Duration.milliseconds(10)
    /// How much sooner than strictly needed an output write must be over: the poller's own
    /// wake-up and hop back onto the bus thread.
    static let writeGuard = Duration.milliseconds(1)

    /// Runs on the bus owner's own thread (isolated to it): its reads are then plain calls, not a
    /// hop to that thread and back for every transaction (BENCHMARKS.md, Modbus TCP polling).
    /// Nothing here blocks but the bus's own libmodbus calls, as before.
    func run(deliver: @Sendable (PollingEvent) -> Void, missed: @Sendable (String, Int) -> Void) async {
        await run(reader: bus, deliver: deliver, missed: missed, isolation: bus)
    }

    func run(
        reader: some RegisterReader, deliver: @Sendable (PollingEvent) -> Void, missed: @Sendable (String, Int) -> Void,
        isolation: isolated (any Actor)? = #isolation
    ) async {
        let clock = ContinuousClock()
        var pollers = pollers
        var backoffs = pollers.map { Backoff<ContinuousClock.Instant>(policy: $0.device.backoff) }
        let periods = pollers.map(\.device.every)
        var schedule = FixedRateSchedule(
            start: clock.now, periods: periods, offsets: FixedRateSchedule<ContinuousClock.Instant>.phased(periods: periods, phase: phase))
        // The longest one poll may take: every request timing out on every attempt, plus slack.
        let pollBound = pollers.map(\.worstCase).max() ?? .zero
        defer {
            heartbeat.finished(bus: bus.name)
            gaps?.pollerStopped()
        }
        var adapterReturns = bus.adapterReturns
        var lastSuspension = clock.now
        while !Task.isCancelled, let (index, slot) = schedule.next {
            heartbeat.expect(bus: bus.name, backBy: max(slot, clock.now) + pollBound + .seconds(5))
            // A slot already due (a late poll, a device polled back to back) runs at once: a
            // sleep would only go through a timer. A bus that stays behind its schedule still
            // yields every `fairness`, so that the bus owner's other callers (an adapter plugged
            // in again) get their turn; not at every poll, as a yield is two hops between threads.
            if slot > clock.now {
                // Output writes may use the wait, if they are over before the request's silence.
                let silence = max(bus.transport.interFrameSilence, pollers[index].device.minGap)
                gaps?.gapBegins(until: slot - silence - Self.writeGuard)
                do {
                    try await clock.sleep(until: slot)
                } catch {
                    return
                }
                lastSuspension = clock.now
            } else if lastSuspension.duration(to: clock.now) > Self.fairness {
                await Task.yield()
                lastSuspension = clock.now
            }
            gaps?.pollStarts()
            counters.started(lateness: slot.duration(to: clock.now))
            // The adapter was plugged in again: its devices are worth asking at once.
            if bus.adapterReturns != adapterReturns {
                adapterReturns = bus.adapterReturns
                for i in backoffs.indices { backoffs[i].answered() }
            }
            let device = pollers[index].device
            if backoffs[index].skips(slot), let nextTry = backoffs[index].nextTry {
                let failures = backoffs[index].failures
                let at = Date().addingTimeInterval(clock.now.duration(to: nextTry).seconds)
                let polls = failures == 1 ? "1 failed poll" : "\(failures) failed polls"
                let result = pollers[index].skipped(reason: "backoff after \(polls); next try \(UTCTime.format(at))")
                counters.poll(result)
                deliver(.poll(result))
                _ = schedule.completed(index, now: clock.now)
                continue
            }
            let result = await pollers[index].poll(
                on: reader, counters: counters, probe: backoffs[index].isProbing, isolation: isolation)
            if result.failure == nil {
                backoffs[index].answered()
            } else {
                backoffs[index].failed(startedAt: slot)
            }
            let nextTry = backoffs[index].nextTry.map { Date().addingTimeInterval(clock.now.duration(to: $0).seconds) }
            counters.backoff(device: device.id, failures: backoffs[index].failures, nextTry: nextTry)
            counters.poll(result)
            // A bus going down is told before the poll it failed, coming back before the poll that
            // proved it.
            for change in await bus.takeLinkEvents() {
                deliver(.bus(BusStatusChange(bus: bus.name, time: change.time, up: change.up, reason: change.reason)))
            }
            deliver(.poll(result))
            let skipped = schedule.completed(index, now: clock.now)
            if skipped > 0 {
                counters.missed(slots: skipped)
                missed(device.id, skipped)
            }
        }
    }
}
