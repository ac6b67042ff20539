import Foundation
import Testing
@testable import LabGate

/// A hand-driven clock: the moment `second` seconds after an origin, on both clocks of one boot.
private struct HandClock {
    var boot = "boot-1"
    /// How far the monotonic clock is from the wall clock (a wall step moves only the wall clock).
    var wallOffset: Int64 = 0

    func at(_ second: Double) -> Stamp {
        let ms = Int64((second * 1000).rounded())
        return Stamp(wall: 1_800_000_000_000 + ms + wallOffset, mono: 5_000_000_000 + ms * 1_000_000, boot: boot)
    }
}

/// co2 in %: 4.5–5.5 with a 10 s delay, critical below 2.0, back inside by 0.2 for 5 s.
private let co2 = ChannelLimits(
    low: 4.5, high: 5.5, delay: .seconds(10), criticalLow: 2.0, source: "spec held", deadband: 0.2, hold: .seconds(5))

/// Feeds one tracker readings at given seconds of a hand-driven clock.
private struct Feed {
    var tracker = ExcursionTracker()
    var clock = HandClock()
    var limits: ChannelLimits? = co2
    var recovery: ExcursionTracker.Recovery = .deadbandAndHold

    mutating func read(_ value: Double, at second: Double) -> ExcursionTracker.Step {
        tracker.record(value, at: clock.at(second), limits: limits, recovery: recovery)
    }

    /// Whether the run in progress is due at `second`.
    func due(_ second: Double) -> Bool {
        tracker.run?.isDue(at: clock.at(second)) ?? false
    }
}

@Suite("excursion tracker: one run past a limit, for equipment alerts and deviations")
struct ExcursionTrackerTests {
    @Test("a reading past a limit starts a run stamped with it, due once it has lasted the bound's delay")
    func dueAfterDelay() throws {
        var feed = Feed()
        #expect(feed.read(5.0, at: 0).violation == nil && feed.tracker.run == nil)
        let began = feed.read(4.3, at: 1)
        #expect(began.began && began.violation?.limit == .init(name: "low", value: 4.5, source: "spec held"))
        let run = try #require(feed.tracker.run)
        #expect(run.first == feed.clock.at(1) && run.valueAtFirst == 4.3 && run.delay == .seconds(10) && run.side == .low)
        #expect(!feed.due(10.999))
        #expect(feed.due(11))
        #expect(!feed.read(4.2, at: 11).began, "the same run goes on")
        #expect(feed.tracker.run?.first == feed.clock.at(1))
    }

    @Test("a dip that ends before its delay (a door opening) ends without having been due, and the next dip starts its own delay")
    func shortDip() throws {
        var feed = Feed(recovery: .atOnce)
        _ = feed.read(4.0, at: 0)
        _ = feed.read(4.0, at: 5)
        let back = feed.read(5.0, at: 6)
        let ended = try #require(back.ended)
        #expect(!ended.run.isDue(at: feed.clock.at(6)))
        #expect(feed.read(4.0, at: 12).began)
        #expect(!feed.due(21) && feed.due(22))
    }

    @Test("a critical limit makes the run due at once; the reported limit becomes the critical one, the delay stays the bound's")
    func critical() throws {
        var feed = Feed()
        #expect(!feed.read(4.0, at: 0).becameCritical)
        #expect(!feed.due(1))
        let critical = feed.read(1.5, at: 1)
        #expect(critical.becameCritical && !critical.began)
        #expect(feed.due(1))
        let run = try #require(feed.tracker.run)
        #expect(run.critical && run.limit == .init(name: "critical_low", value: 2.0, source: "spec held"))
        #expect(run.delay == .seconds(10) && run.first == feed.clock.at(0) && run.worst == 1.5)
        #expect(!feed.read(1.0, at: 2).becameCritical, "critical once per run")

        var atOnce = Feed()
        let first = atOnce.read(1.5, at: 0)
        #expect(first.began && first.becameCritical && atOnce.due(0))
    }

    @Test("a critical limit without a bound on its side: the run's bound is the critical limit with no delay")
    func criticalWithoutBound() throws {
        var feed = Feed(limits: ChannelLimits(high: 5.5, delay: .seconds(10), criticalLow: 2.0, source: "equipment"))
        let step = feed.read(1.0, at: 0)
        #expect(step.violation?.bound == .init(value: 2.0, delay: .zero, source: "critical limit"))
        #expect(step.violation?.boundLimit == .init(name: "low", value: 2.0, source: "critical limit"))
        #expect(feed.tracker.run?.limit == .init(name: "critical_low", value: 2.0, source: "critical limit"))
    }

    @Test("worst is the furthest value past the limit; size is each reading's excess times the wall time since the one before, in unit-minutes")
    func worstAndSize() throws {
        var feed = Feed()
        _ = feed.read(4.3, at: 0)
        _ = feed.read(4.0, at: 30)
        _ = feed.read(4.2, at: 60)
        _ = feed.read(4.6, at: 90)  // within the limit, not by the deadband: adds nothing, restarts the weighting
        _ = feed.read(4.4, at: 120)
        let run = try #require(feed.tracker.run)
        #expect(run.worst == 4.0)
        let expected = (0.5 * 30 + 0.3 * 30 + 0.1 * 30) / 60
        #expect(abs(run.size - expected) < 1e-9)

        // After a critical limit, the excess counts past the critical limit (the one reported).
        var deep = Feed()
        _ = deep.read(1.5, at: 0)
        _ = deep.read(1.0, at: 60)
        _ = deep.read(3.0, at: 120)
        #expect(abs((deep.tracker.run?.size ?? 0) - 1.0) < 1e-9)
    }

    @Test("recovery at once: the first reading within the limits ends the run, at that reading, with the run's worst")
    func recoveryAtOnce() throws {
        var feed = Feed(recovery: .atOnce)
        _ = feed.read(4.0, at: 0)
        _ = feed.read(4.49, at: 1)
        let ended = try #require(feed.read(4.5, at: 2).ended)
        #expect(ended.at == feed.clock.at(2) && ended.run.worst == 4.0)
        #expect(feed.tracker.run == nil)
    }

    @Test("recovery with deadband and hold: back inside by the deadband for the hold; ends at the first reading of the stretch that held")
    func deadbandAndHold() throws {
        var feed = Feed()
        _ = feed.read(4.0, at: 0)
        #expect(feed.read(4.6, at: 1).ended == nil, "inside the limit but not by the deadband")
        #expect(feed.tracker.run?.backSince == nil)
        #expect(feed.read(4.8, at: 2).ended == nil, "back: the hold begins")
        #expect(feed.tracker.run?.backSince == feed.clock.at(2))
        #expect(feed.read(4.4, at: 4).violation != nil, "out again: the same run goes on")
        #expect(feed.tracker.run?.backSince == nil && feed.tracker.run?.first == feed.clock.at(0))
        #expect(feed.read(4.8, at: 5).ended == nil)
        #expect(feed.read(4.65, at: 6).ended == nil, "inside by less than the deadband: the stretch starts again")
        #expect(feed.read(4.8, at: 7).ended == nil)
        #expect(feed.read(4.8, at: 11.999).ended == nil)
        let ended = try #require(feed.read(4.9, at: 12).ended)
        #expect(ended.at == feed.clock.at(7) && ended.run.worst == 4.0)
    }

    @Test("a run goes on through readings within the limit but not by the deadband, however long; the next reading past the limit finds it due")
    func heldRunIsBackInside() throws {
        var feed = Feed()
        _ = feed.read(4.4, at: 0)
        let back = feed.read(4.6, at: 12)
        #expect(back.violation == nil && back.ended == nil && feed.tracker.run != nil)
        let out = feed.read(4.4, at: 13)
        #expect(out.violation != nil && !out.began && feed.due(13))
    }

    @Test("the bound in force decides recovery: a run whose tighter limit went away ends at once, and one with no bound left on its side too")
    func limitsChangeDuringRun() throws {
        var feed = Feed()
        _ = feed.read(4.3, at: 0)
        feed.limits = ChannelLimits(low: 4.0, high: 6.0, delay: .seconds(10), source: "spec loose")
        #expect(feed.read(4.3, at: 1).ended?.at == feed.clock.at(1))

        var high = Feed()
        _ = high.read(5.8, at: 0)
        high.limits = ChannelLimits(low: 4.5, delay: .seconds(10), source: "spec low only", deadband: 0.2, hold: .seconds(5))
        #expect(high.read(5.8, at: 1).ended?.at == high.clock.at(1))

        var none = Feed()
        _ = none.read(4.3, at: 0)
        none.limits = nil
        #expect(none.read(4.3, at: 1).ended != nil)
    }

    @Test("a reading past the other side ends the run at that reading and starts another")
    func sideFlip() throws {
        var feed = Feed()
        _ = feed.read(4.0, at: 0)
        _ = feed.read(4.8, at: 1)  // back, holding
        let flip = feed.read(5.8, at: 2)
        let ended = try #require(flip.ended)
        #expect(ended.at == feed.clock.at(2) && ended.run.side == .low && ended.run.worst == 4.0)
        #expect(flip.began && feed.tracker.run?.side == .high && feed.tracker.run?.first == feed.clock.at(2))
    }

    @Test("delays and holds run on the monotonic clock: a wall-clock step does not shorten them")
    func monotonic() throws {
        var feed = Feed()
        _ = feed.read(4.3, at: 0)
        feed.clock.wallOffset = 3_600_000  // the wall clock jumps an hour ahead
        #expect(!feed.due(9))
        #expect(feed.due(10))
    }

    @Test("an excursion's size counts monotonic time: a wall clock stepped back never makes it negative, one stepped forward never inflates it")
    func sizeAcrossWallSteps() throws {
        var back = Feed()
        _ = back.read(4.0, at: 0)
        _ = back.read(4.0, at: 30)
        back.clock.wallOffset = -3_600_000  // the wall clock steps back an hour
        _ = back.read(4.0, at: 60)
        _ = back.read(4.0, at: 90)
        let stepped = try #require(back.tracker.run)
        #expect(stepped.size > 0)
        #expect(abs(stepped.size - 0.5 * 90 / 60) < 1e-9, "90 s at 0.5 below the limit, as without the step")

        var forward = Feed()
        _ = forward.read(4.0, at: 0)
        forward.clock.wallOffset = 3_600_000
        _ = forward.read(4.0, at: 30)
        #expect(abs((forward.tracker.run?.size ?? 0) - 0.5 * 30 / 60) < 1e-9)

        // Across a reboot (only wall time left between two stamps), a step back adds nothing.
        var reboot = Feed()
        _ = reboot.read(4.0, at: 60)
        reboot.clock.boot = "boot-2"
        _ = reboot.read(4.0, at: 0)
        #expect(reboot.tracker.run?.size == 0)
    }

    @Test("across a reboot only the wall clock is left: a run saved before it is due by wall time after it")
    func acrossReboot() throws {
        var feed = Feed()
        _ = feed.read(4.3, at: 0)
        let saved = try #require(feed.tracker.run)
        // After the reboot the monotonic clock starts again near 0.
        #expect(saved.isDue(at: Stamp(wall: feed.clock.at(10).wall, mono: 1, boot: "boot-2")))
        #expect(!saved.isDue(at: Stamp(wall: feed.clock.at(9).wall, mono: 999_999_999_999, boot: "boot-2")))
    }

    @Test("a run survives being saved and read back: a restart continues its delay, worst, size and hold")
    func savedRun() throws {
        var feed = Feed()
        _ = feed.read(4.0, at: 0)
        _ = feed.read(4.2, at: 60)
        _ = feed.read(4.8, at: 61)
        let run = try #require(feed.tracker.run)
        let back = try JSONDecoder().decode(ExcursionRun.self, from: JSONEncoder().encode(run))
        #expect(back == run)
        var restarted = Feed(tracker: ExcursionTracker(run: back))
        let ended = try #require(restarted.read(4.9, at: 66).ended)
        #expect(ended.at == feed.clock.at(61) && ended.run.worst == 4.0 && abs(ended.run.size - 0.3) < 1e-9)
    }
}

@Suite("limits in force: one function for equipment alerts, deviations and the status views")
struct LimitsInForceTests {
    /// INC-01 with equipment limits and the device spec msc-culture; lots bring their own specs.
    private func config() -> Config {
        var config = incubatorConfig()
        config.specs["tight"] = Spec(name: "tight", limits: [
            "co2": ChannelLimits(low: 4.8, high: 5.2, delay: .seconds(10), source: "spec tight", maxGap: .seconds(60))
        ])
        config.specs["loose"] = Spec(name: "loose", limits: [
            "co2": ChannelLimits(low: 3.0, high: 7.0, delay: .seconds(10), source: "spec loose", maxGap: .seconds(30))
        ])
        config.devices[0].spec = "msc-culture"
        config.devices[0].limits["co2"] = ChannelLimits(low: 4.0, high: 6.0, delay: .seconds(30), source: "equipment")
        return config
    }

    @Test("the device's own limits (equipment and its spec) for equipment alerts, with or without lots")
    func device() throws {
        let config = config()
        let empty = LimitsInForce(config: config, device: config.devices[0], channel: "co2", lots: [])
        let full = LimitsInForce(config: config, device: config.devices[0], channel: "co2", lots: [LotSpec(lot: "A", spec: "tight")])
        #expect(empty.device?.low?.value == 4.5 && empty.device?.low?.source == "spec msc-culture")
        #expect(full.device == empty.device)
    }

    @Test("deviations follow the lots' specs and the equipment limits, not the device's spec; the status views show all of them")
    func exposureAndShown() throws {
        let config = config()
        let loose = LimitsInForce(config: config, device: config.devices[0], channel: "co2", lots: [LotSpec(lot: "B", spec: "loose")])
        #expect(loose.exposure?.low == .init(value: 4.0, delay: .seconds(30), source: "equipment"))
        #expect(loose.shown?.low?.value == 4.5 && loose.shown?.low?.source == "spec msc-culture")
        let tight = LimitsInForce(
            config: config, device: config.devices[0], channel: "co2", lots: [LotSpec(lot: "A", spec: "tight"), LotSpec(lot: "B", spec: "loose")])
        #expect(tight.exposure?.low?.value == 4.8 && tight.shown?.low?.value == 4.8 && tight.exposure?.high?.value == 5.2)
        #expect(tight.maxGap?.value == .seconds(30) && tight.maxGap?.source == "spec loose")
        #expect(tight.lotsBroken(by: 4.7) == ["A"])
        #expect(tight.lotsBroken(by: 3.9) == ["A", "B"], "the equipment limits broken: every lot inside")
    }
}
