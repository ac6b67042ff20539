import Foundation
import Testing
@testable import LabGate

/// One incubator (co2 only) and three specs: tight (4.5–5.5), loose (4.0–6.0) and one with a
/// deadband, hold and max_gap.
private func engineConfig(delay: Duration = .seconds(10), equipment: ChannelLimits? = nil) -> Config {
    let profile = Profile(name: "inc", fields: [
        Field(channel: "co2", table: .input, address: 2, type: .int16, scale: 0.01, unit: "%")
    ])
    let specs = [
        "tight": Spec(name: "tight", limits: [
            "co2": ChannelLimits(low: 4.5, high: 5.5, delay: delay, criticalLow: 2.0, source: "spec tight")
        ]),
        "loose": Spec(name: "loose", limits: [
            "co2": ChannelLimits(low: 4.0, high: 6.0, delay: delay, source: "spec loose")
        ]),
        "held": Spec(name: "held", limits: [
            "co2": ChannelLimits(
                low: 4.5, high: 5.5, delay: delay, source: "spec held", deadband: 0.2, hold: .seconds(5),
                maxGap: .seconds(30))
        ]),
    ]
    let device = Device(
        id: "INC-01", kind: .incubator, bus: "sim", unit: 1, profile: "inc", every: .seconds(1),
        limits: equipment.map { ["co2": $0] } ?? [:])
    return Config(
        file: "test.yaml", site: "test", store: "/tmp/x.sqlite", alerts: "/tmp",
        buses: [Bus(id: "sim", transport: .tcp(host: "127.0.0.1", port: 1502))],
        devices: [device], profiles: ["inc": profile], specs: specs)
}

/// Feeds the engine one co2 reading per call at a given second, with the lots given as inside.
private struct Feed {
    var engine: DeviationEngine
    let start = ContinuousClock.now
    let wallStart = Date(timeIntervalSince1970: 1_800_000_000)
    var opened: [String: DeviationRecord] = [:]
    var next = 1
    /// How far the wall clock is from where the monotonic clock puts it (a step moves only the wall clock).
    var wallShift: TimeInterval = 0

    init(config: Config, state: String? = nil) {
        engine = DeviationEngine(config: config, state: state)
    }

    func time(_ second: Int) -> Date { wallStart.addingTimeInterval(Double(second) + wallShift) }
    func ms(_ second: Int) -> Int64 { time(second).millisecondsSince1970 }

    /// Evaluates and assigns ids DEV-2026-0001... to openings, as the pipeline does.
    mutating func co2(
        _ value: Double?, at second: Int, lots: [(String, String)], quality: Quality = .good
    ) -> [DeviationEngine.Change] {
        let reading = Reading(device: "INC-01", channel: "co2", time: time(second), value: value, quality: quality)
        let poll = PollResult(
            device: "INC-01", time: time(second), instant: start + .seconds(second), readings: [reading], failure: nil)
        let exposure = lots.map { LotSpec(lot: $0.0, spec: $0.1) }
        return assign(engine.evaluate(poll, exposure: exposure))
    }

    /// The pipeline's timer at `second`, with the lots given as inside.
    mutating func tick(at second: Int, lots: [(String, String)]) -> [DeviationEngine.Change] {
        let exposure = lots.map { LotSpec(lot: $0.0, spec: $0.1) }
        return assign(engine.tick(wall: time(second), instant: start + .seconds(second)) { _ in exposure })
    }

    private mutating func assign(_ changes: [DeviationEngine.Change]) -> [DeviationEngine.Change] {
        var changes = changes
        for (index, change) in changes.enumerated() {
            guard case var .open(opening) = change else { continue }
            opening.record.id = String(format: "DEV-2026-%04d", next)
            next += 1
            engine.assign(opening.record.id, to: opening.ref)
            opened[opening.record.id] = opening.record
            changes[index] = .open(opening)
        }
        return changes
    }
}

private extension DeviationEngine.Change {
    var opening: DeviationRecord? {
        if case let .open(opening) = self { return opening.record }
        return nil
    }

    var recovery: (id: String, end: Int64, worst: Double?, size: Double?)? {
        if case let .recovered(id, end, worst, size, _) = self { return (id, end, worst, size) }
        return nil
    }

    var added: [String]? {
        if case let .lotsAdded(_, lots, _) = self { return lots }
        return nil
    }
}

@Suite("deviation engine")
struct DeviationEngineTests {
    @Test("an excursion with a lot inside: one deviation after the delay, from the first out-of-spec reading to the first back")
    func excursion() throws {
        var feed = Feed(config: engineConfig())
        let lot = [("LOT-A", "tight")]
        #expect(feed.co2(5.0, at: 0, lots: lot).isEmpty)
        for second in 1...10 {
            #expect(feed.co2(4.3 - Double(second) * 0.01, at: second, lots: lot).isEmpty, "within the delay (second \(second))")
        }
        let opened = try #require(feed.co2(4.1, at: 11, lots: lot).first?.opening)
        #expect(opened.start == feed.ms(1))
        #expect(opened.opened == feed.ms(11))
        #expect(opened.lots == ["LOT-A"])
        #expect(opened.limit == .init(name: "low", value: 4.5, source: "spec tight"))
        #expect(opened.kind == .excursion)
        #expect(feed.co2(3.9, at: 12, lots: lot).isEmpty)
        let recovered = try #require(feed.co2(4.6, at: 14, lots: lot).first?.recovery)
        #expect(recovered.id == "DEV-2026-0001")
        #expect(recovered.end == feed.ms(14))
        #expect(recovered.worst == 3.9)
        // 0.2 + ... per second past 4.5, in %-minutes: each reading's excess times the time since the one before.
        var excess: [Double] = []
        for second in 2...10 { excess.append(4.5 - (4.3 - Double(second) * 0.01)) }
        excess += [0.4, 0.6]
        let expected: Double = excess.reduce(0, +) / 60
        #expect(abs((recovered.size ?? 0) - expected) < 1e-9)
        #expect(feed.co2(5.0, at: 15, lots: lot).isEmpty)
    }

    @Test("no lots inside: no deviation, whatever the equipment limits say")
    func emptyDevice() {
        var feed = Feed(config: engineConfig(equipment: ChannelLimits(low: 4.8, delay: .zero, source: "equipment")))
        for second in 0...30 { #expect(feed.co2(3.0, at: second, lots: []).isEmpty) }
    }

    @Test("two lots with different specs: the tightest applies and only the lots whose spec broke are named")
    func tightestSpec() throws {
        var feed = Feed(config: engineConfig())
        let lots = [("LOT-A", "tight"), ("LOT-B", "loose")]
        _ = feed.co2(4.3, at: 0, lots: lots)
        let opened = try #require(feed.co2(4.2, at: 10, lots: lots).first?.opening)
        #expect(opened.lots == ["LOT-A"])
        #expect(opened.limit.value == 4.5)
        // Deeper: now the loose spec breaks too, and its lot joins the deviation.
        let added = try #require(feed.co2(3.9, at: 11, lots: lots).first?.added)
        #expect(added == ["LOT-B"])
    }

    @Test("the limits follow the lots inside from one poll to the next: a tighter spec placed applies at its first reading, and goes with its lot")
    func limitsFollowTheLots() throws {
        var feed = Feed(config: engineConfig(delay: .zero))
        for second in 0...4 { #expect(feed.co2(4.3, at: second, lots: [("LOT-B", "loose")]).isEmpty) }
        let opened = try #require(feed.co2(4.3, at: 5, lots: [("LOT-B", "loose"), ("LOT-A", "tight")]).first?.opening)
        #expect(opened.lots == ["LOT-A"])
        #expect(opened.limit.value == 4.5)
        // LOT-A taken out: the loose spec alone holds 4.3 inside, so the excursion ends.
        let changes = feed.co2(4.3, at: 6, lots: [("LOT-B", "loose")])
        #expect(changes.compactMap(\.recovery).map(\.id) == [opened.id])
    }

    @Test("equipment limits broken with lots inside name every lot inside")
    func equipment() throws {
        var feed = Feed(config: engineConfig(equipment: ChannelLimits(high: 5.2, delay: .zero, source: "equipment")))
        let opened = try #require(feed.co2(5.3, at: 0, lots: [("LOT-A", "tight"), ("LOT-B", "loose")]).first?.opening)
        #expect(opened.lots == ["LOT-A", "LOT-B"])
        #expect(opened.limit == .init(name: "high", value: 5.2, source: "equipment"))
    }

    @Test("a lot placed during the excursion joins it; a lot taken out before it does not")
    func lotsDuringExcursion() throws {
        var feed = Feed(config: engineConfig())
        _ = feed.co2(5.0, at: 0, lots: [("LOT-A", "tight"), ("LOT-C", "tight")])
        _ = feed.co2(4.2, at: 1, lots: [("LOT-A", "tight")])
        let opened = try #require(feed.co2(4.2, at: 11, lots: [("LOT-A", "tight")]).first?.opening)
        #expect(opened.lots == ["LOT-A"])
        let added = try #require(feed.co2(4.1, at: 12, lots: [("LOT-A", "tight"), ("LOT-D", "tight")]).first?.added)
        #expect(added == ["LOT-D"])
    }

    @Test("a critical limit opens at once")
    func critical() throws {
        var feed = Feed(config: engineConfig(delay: .seconds(600)))
        let opened = try #require(feed.co2(1.5, at: 0, lots: [("LOT-A", "tight")]).first?.opening)
        #expect(opened.critical)
        #expect(opened.limit.name == "critical_low")
    }

    @Test("recovery needs the deadband and the hold; the end is the first reading of the hold that held")
    func deadbandAndHold() throws {
        var feed = Feed(config: engineConfig(delay: .zero))
        let lot = [("LOT-A", "held")]
        #expect(feed.co2(4.0, at: 0, lots: lot).first?.opening != nil)
        #expect(feed.co2(4.6, at: 1, lots: lot).isEmpty, "inside the limit but not by the deadband")
        #expect(feed.co2(4.8, at: 2, lots: lot).isEmpty, "back, the hold begins")
        #expect(feed.co2(4.4, at: 4, lots: lot).isEmpty, "out again: the same deviation goes on")
        #expect(feed.co2(4.8, at: 5, lots: lot).isEmpty)
        #expect(feed.co2(4.8, at: 9, lots: lot).isEmpty)
        let recovered = try #require(feed.co2(4.9, at: 10, lots: lot).first?.recovery)
        #expect(recovered.end == feed.ms(5))
        #expect(recovered.worst == 4.0)
        #expect(feed.opened.count == 1)
    }

    @Test("a run waiting for its hold does not open when the delay runs out while the value is back inside")
    func noOpeningWhileBack() throws {
        var feed = Feed(config: engineConfig(delay: .seconds(10)))
        let lot = [("LOT-A", "held")]
        #expect(feed.co2(4.4, at: 0, lots: lot).isEmpty)
        #expect(feed.co2(4.6, at: 1, lots: lot).isEmpty, "inside, but not by the deadband: the run goes on")
        #expect(feed.co2(4.6, at: 12, lots: lot).isEmpty, "the delay has passed, but this reading is in spec")
        let opened = try #require(feed.co2(4.4, at: 13, lots: lot).first?.opening, "out again: the run opens")
        #expect(opened.start == feed.ms(0))
    }

    @Test("no valid reading for longer than max_gap with lots inside: a data gap, ended by the next valid reading")
    func dataGap() throws {
        var feed = Feed(config: engineConfig())
        let lot = [("LOT-A", "held")]
        _ = feed.co2(5.0, at: 0, lots: lot)
        for second in 1...30 { #expect(feed.co2(nil, at: second, lots: lot, quality: .timeout).isEmpty) }
        let opened = try #require(feed.co2(nil, at: 31, lots: lot, quality: .timeout).first?.opening)
        #expect(opened.kind == .dataGap)
        #expect(opened.start == feed.ms(0), "from the last valid reading")
        #expect(opened.limit.name == "max_gap")
        #expect(opened.lots == ["LOT-A"])
        let recovered = try #require(feed.co2(5.0, at: 40, lots: lot).first?.recovery)
        #expect(recovered.end == feed.ms(40))
        // Sensor faults are a gap of their own kind; without lots there is none.
        for second in 41...72 { _ = feed.co2(nil, at: second, lots: lot, quality: .sensorFault) }
        #expect(feed.opened.values.contains { $0.kind == .sensorFault })
        var empty = Feed(config: engineConfig())
        for second in 0...100 { #expect(empty.co2(nil, at: second, lots: [], quality: .timeout).isEmpty) }
    }

    @Test("a restart continues a running delay from the first out-of-spec reading, and an open deviation keeps its id")
    func restart() throws {
        var feed = Feed(config: engineConfig())
        let lot = [("LOT-A", "tight")]
        _ = feed.co2(4.2, at: 0, lots: lot)
        #expect(feed.co2(4.2, at: 5, lots: lot).isEmpty)
        var restarted = Feed(config: engineConfig(), state: feed.engine.snapshot())
        #expect(restarted.co2(4.2, at: 8, lots: lot).isEmpty)
        let opened = try #require(restarted.co2(4.2, at: 10, lots: lot).first?.opening)
        #expect(opened.start == feed.ms(0))

        var again = Feed(config: engineConfig(), state: restarted.engine.snapshot())
        #expect(again.co2(4.0, at: 20, lots: lot).isEmpty, "no second deviation")
        let recovered = try #require(again.co2(5.0, at: 30, lots: lot).first?.recovery)
        #expect(recovered.id == "DEV-2026-0001")
        #expect(recovered.worst == 4.0)
    }

    /// What the engine saved before the equipment alerts and the deviations shared one run
    /// tracker (written by that version, boot id and monotonic times replaced): an open deviation
    /// waiting for its hold since 3 s, and a data gap open since then.
    static let savedBeforeUpgrade = #"[{"channel":"co2","device":"INC-01","state":{"gap":{"deviation":"DEV-2026-0002","kind":"data_gap","lots":["LOT-A"],"start":1800000003000},"lastBad":"timeout","lastGood":{"boot":"boot-before-upgrade","mono":3000000000,"wall":1800000003000},"run":{"area":0.003333333333333336,"backSince":{"boot":"boot-before-upgrade","mono":3000000000,"wall":1800000003000},"critical":false,"delayMS":0,"deviation":"DEV-2026-0001","first":{"boot":"boot-before-upgrade","mono":0,"wall":1800000000000},"lastWall":1800000003000,"limit":{"name":"low","source":"spec held","value":4.5},"lots":["LOT-A"],"opening":false,"side":"low","valueAtFirst":4,"worst":4}}}]"#

    @Test("state saved by the version before the shared run tracker is read as it was written, and its runs go on after the upgrade")
    func stateFromBeforeTheUpgrade() throws {
        var feed = Feed(config: engineConfig(), state: Self.savedBeforeUpgrade)
        #expect(feed.engine.openDeviations == ["DEV-2026-0001", "DEV-2026-0002"])
        #expect(feed.engine.snapshot() == Self.savedBeforeUpgrade, "written back the same way")
        // Back after a reboot: the hold (5 s) is counted on the wall clock from the stretch that began at 3 s.
        let changes = feed.co2(4.9, at: 40, lots: [("LOT-A", "held")])
        let recoveries = changes.compactMap(\.recovery)
        #expect(recoveries.map(\.id) == ["DEV-2026-0002", "DEV-2026-0001"])
        #expect(recoveries.map(\.end) == [feed.ms(40), feed.ms(3)])
        #expect(recoveries[1].worst == 4.0)
        #expect(recoveries[1].size == 0.003333333333333336)
        #expect(feed.engine.openDeviations.isEmpty)
    }

    @Test("a run that outlasts its delay opens on the tick when no more readings come, from its first reading, with the last value read")
    func opensOnTick() throws {
        var feed = Feed(config: engineConfig())
        let lot = [("LOT-A", "tight")]
        _ = feed.co2(5.0, at: 0, lots: lot)
        #expect(feed.co2(4.3, at: 1, lots: lot).isEmpty)
        #expect(feed.co2(4.1, at: 3, lots: lot).isEmpty)
        // The device dies: no more readings.
        #expect(feed.tick(at: 10, lots: lot).isEmpty, "not due yet")
        let opened = try #require(feed.tick(at: 11, lots: lot).first?.opening)
        #expect(opened.kind == .excursion && opened.lots == ["LOT-A"])
        #expect(opened.start == feed.ms(1) && opened.opened == feed.ms(11))
        #expect(opened.valueAtOpening == 4.1 && opened.worst == 4.1)
        #expect(feed.tick(at: 12, lots: lot).compactMap(\.opening).isEmpty, "opened once")
        #expect(feed.co2(4.0, at: 13, lots: lot).isEmpty, "the next reading goes on with it")
        let recovered = try #require(feed.co2(5.0, at: 14, lots: lot).first?.recovery)
        #expect(recovered.id == "DEV-2026-0001" && recovered.worst == 4.0)
    }

    @Test("a tick does not open a run whose latest reading is back within the limits, nor one whose lots have left")
    func tickLeavesRunsThatAreNotOut() throws {
        var feed = Feed(config: engineConfig())
        let held = [("LOT-A", "held")]
        _ = feed.co2(4.4, at: 0, lots: held)
        _ = feed.co2(4.6, at: 1, lots: held)  // within, not by the deadband: the run waits
        #expect(feed.tick(at: 20, lots: held).compactMap(\.opening).isEmpty)

        var left = Feed(config: engineConfig())
        _ = left.co2(4.0, at: 0, lots: [("LOT-A", "tight")])
        #expect(left.tick(at: 20, lots: []).isEmpty, "LOT-A ended: nobody is exposed")
    }

    @Test("a lot's channel with no max_gap gets a data gap after 3 poll periods plus the delay, named as the default")
    func defaultMaxGap() throws {
        var feed = Feed(config: engineConfig())
        let lot = [("LOT-A", "tight")]  // no max_gap; INC-01 polled every 1 s, delay 10 s: 13 s
        _ = feed.co2(5.0, at: 0, lots: lot)
        #expect(feed.tick(at: 13, lots: lot).isEmpty)
        let opened = try #require(feed.tick(at: 14, lots: lot).first?.opening)
        #expect(opened.kind == .dataGap && opened.start == feed.ms(0))
        #expect(opened.limit == .init(name: "max_gap", value: 13, source: "default: 3 × every + delay"))
        // A configured max_gap (30 s) wins over the default.
        var held = Feed(config: engineConfig())
        _ = held.co2(5.0, at: 0, lots: [("LOT-A", "held")])
        #expect(held.tick(at: 30, lots: [("LOT-A", "held")]).isEmpty)
        #expect(held.tick(at: 31, lots: [("LOT-A", "held")]).first?.opening?.limit.value == 30)
    }

    @Test("a wall clock stepped back an hour mid-excursion: the delay counts on the monotonic clock and the size stays positive")
    func wallStepBack() throws {
        var feed = Feed(config: engineConfig())
        let lot = [("LOT-A", "tight")]
        _ = feed.co2(4.0, at: 0, lots: lot)
        _ = feed.co2(4.0, at: 4, lots: lot)
        feed.wallShift = -3600
        #expect(feed.co2(4.0, at: 8, lots: lot).isEmpty, "8 s in: not due, whatever the wall clock says")
        let opened = try #require(feed.co2(4.0, at: 10, lots: lot).first?.opening)
        #expect(opened.opened < opened.start, "the record shows the stepped wall clock as it read")
        let recovered = try #require(feed.co2(5.0, at: 12, lots: lot).first?.recovery)
        let size = try #require(recovered.size)
        #expect(abs(size - 0.5 * 10 / 60) < 1e-9, "10 s at 0.5 below the limit: \(size)")
    }
}
