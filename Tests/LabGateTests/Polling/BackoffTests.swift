import Testing
@testable import LabGate

/// A hand-driven clock instant, in milliseconds.
private struct Tick: InstantProtocol {
    var ms: Int64
    func advanced(by duration: Duration) -> Tick { Tick(ms: ms + Int64((duration.seconds * 1000).rounded())) }
    func duration(to other: Tick) -> Duration { .milliseconds(other.ms - ms) }
    static func < (a: Tick, b: Tick) -> Bool { a.ms < b.ms }
}

@Suite("Backoff of a device that does not answer")
struct BackoffTests {
    /// Drives a device polled every `every` ms through its schedule for `until` ms: slot by slot,
    /// each slot either skipped or polled; `answers` says whether the device answers a poll at a
    /// given time. Returns the slots polled ("P") and skipped ("s") as one string, 1 char per slot.
    func run(
        every: Int64, policy: BackoffPolicy, until: Int64, pollCost: Int64 = 0, answers: (Int64) -> Bool
    ) -> String {
        var schedule = FixedRateSchedule(start: Tick(ms: 0), periods: [.milliseconds(every)])
        var backoff = Backoff<Tick>(policy: policy)
        var trace = ""
        while let (index, slot) = schedule.next, slot.ms < until {
            if backoff.skips(slot) {
                trace += "s"
                _ = schedule.completed(index, now: slot)
                continue
            }
            trace += "P"
            if answers(slot.ms) { backoff.answered() } else { backoff.failed(startedAt: slot) }
            _ = schedule.completed(index, now: Tick(ms: slot.ms + pollCost))
        }
        return trace
    }

    @Test("defaults: initial is the poll period, at most 5 minutes (or the period when longer)")
    func defaults() {
        let device = Device(id: "D", kind: .other, bus: "b", unit: 1, profile: "p", every: .seconds(10))
        #expect(device.backoff == BackoffPolicy(initial: .seconds(10), maximum: .seconds(300)))
        #expect(BackoffPolicy(every: .seconds(600)) == BackoffPolicy(initial: .seconds(600), maximum: .seconds(600)))
    }

    @Test("the wait doubles from initial with each failed poll and stops at max")
    func delays() {
        let policy = BackoffPolicy(initial: .seconds(1), maximum: .seconds(10))
        #expect((0...7).map { policy.delay(afterFailures: $0) } == [0, 1, 2, 4, 8, 10, 10, 10].map { Duration.seconds($0) })
        // Many failures do not overflow.
        #expect(policy.delay(afterFailures: 10_000) == .seconds(10))
    }

    @Test("a dead device is tried at slots 0, 1, 3, 7, 15, … then every max, each other slot skipped")
    func deadDevice() {
        let trace = run(every: 100, policy: BackoffPolicy(initial: .milliseconds(100), maximum: .milliseconds(800)), until: 4000) { _ in false }
        // Gaps 1, 2, 4, 8 then capped at 8 slots.
        #expect(trace == "PP" + "sP" + "sssP" + "sssssssP" + String(repeating: "sssssssP", count: 3))
        #expect(trace.count == 40, "every slot is accounted for, polled or skipped")
    }

    @Test("one failed poll skips nothing with the default initial; an answer resets the backoff")
    func recovers() {
        // Fails from 300 ms to 1 s, answers again afterwards.
        let trace = run(every: 100, policy: BackoffPolicy(every: .milliseconds(100)), until: 2000) { $0 >= 300 && $0 < 1000 ? false : true }
        // 0-200 answered; 300 fails, 400 fails, 500 skipped, 600 fails, 700-900 skipped, 1000 answers.
        #expect(trace == "PPP" + "PPsPsss" + "PPPPPPPPPP")
    }

    @Test("a dead device costs at most one probe per backoff period, however slow its timeout")
    func probeBudget() {
        // Each poll of the dead device takes 900 ms (its timeout) on a 100 ms grid.
        let policy = BackoffPolicy(initial: .seconds(2), maximum: .seconds(8))
        let trace = run(every: 100, policy: policy, until: 60_000, pollCost: 900) { _ in false }
        let polls = trace.filter { $0 == "P" }.count
        // Attempts at 0, 2 s, 6 s, 14 s, then every 8 s (22, 30, 38, 46, 54 s): 9 polls in a minute.
        #expect(polls == 9)
        // Bus time spent on it: 9 × 0.9 s of 60 s.
        #expect(Double(polls) * 0.9 / 60 < 0.16)
    }
}
