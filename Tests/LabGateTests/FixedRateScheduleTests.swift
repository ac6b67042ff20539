import Testing
@testable import LabGate

/// A hand-driven clock instant, in milliseconds.
private struct Tick: InstantProtocol {
    var ms: Int64
    func advanced(by duration: Duration) -> Tick { Tick(ms: ms + Int64(duration.seconds * 1000)) }
    func duration(to other: Tick) -> Duration { .milliseconds(other.ms - ms) }
    static func < (a: Tick, b: Tick) -> Bool { a.ms < b.ms }
}

@Test("polls stay on the start + k·every grid whatever each poll costs (no drift)")
func noDrift() {
    var schedule = FixedRateSchedule(start: Tick(ms: 0), periods: [.milliseconds(100)])
    var starts: [Int64] = []
    for k in 0..<50 {
        let (index, at) = schedule.next!
        starts.append(at.ms)
        // Each poll takes 30 to 90 ms: a fixed-delay loop would drift by that much every time.
        let cost = Int64(30 + (k * 37) % 61)
        #expect(schedule.completed(index, now: Tick(ms: at.ms + cost)) == 0)
    }
    #expect(starts == (0..<50).map { Int64($0) * 100 })
}

@Test("devices with different periods interleave, each on its own grid")
func interleaves() {
    var schedule = FixedRateSchedule(start: Tick(ms: 0), periods: [.milliseconds(200), .milliseconds(500)])
    var polls: [String] = []
    while let (index, at) = schedule.next, at.ms <= 1000 {
        polls.append("\(index)@\(at.ms)")
        _ = schedule.completed(index, now: Tick(ms: at.ms + 5))
    }
    #expect(polls == ["0@0", "1@0", "0@200", "0@400", "1@500", "0@600", "0@800", "0@1000", "1@1000"])
}

@Test("a poll that overran runs late once; slots passed by a whole period are skipped and counted")
func skipsWhenBehind() {
    var schedule = FixedRateSchedule(start: Tick(ms: 0), periods: [.milliseconds(100)])
    // The first poll hung for 350 ms: slots 100 and 200 are gone, slot 300 runs late at once.
    #expect(schedule.completed(0, now: Tick(ms: 350)) == 2)
    #expect(schedule.next?.at.ms == 300)
    #expect(schedule.completed(0, now: Tick(ms: 360)) == 0)
    #expect(schedule.next?.at.ms == 400)
}

@Test("a bus's phase offsets its devices' slots by that share of their period, at most a second")
func phased() {
    let second = Duration.seconds(1)
    // Bus 1 of 25, devices every second: 40 ms after bus 0, all of its devices together.
    #expect(FixedRateSchedule<Tick>.phased(periods: [second, second], phase: 1.0 / 25) == [.milliseconds(40), .milliseconds(40)])
    // A long period is offset within a second at most; a short one within itself.
    #expect(FixedRateSchedule<Tick>.phased(periods: [.seconds(30), .milliseconds(100)], phase: 0.5) == [
        .milliseconds(500), .milliseconds(50),
    ])
    #expect(FixedRateSchedule<Tick>.phased(periods: [second], phase: 0) == [.zero])

    // Each device stays on its own grid from its offset.
    var schedule = FixedRateSchedule(
        start: Tick(ms: 0), periods: [.milliseconds(100), .milliseconds(100)], offsets: [.zero, .milliseconds(50)])
    var polls: [String] = []
    while let (index, at) = schedule.next, at.ms <= 200 {
        polls.append("\(index)@\(at.ms)")
        _ = schedule.completed(index, now: Tick(ms: at.ms + 5))
    }
    #expect(polls == ["0@0", "1@50", "0@100", "1@150", "0@200"])
}
