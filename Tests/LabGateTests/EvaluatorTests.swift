import Foundation
import Testing
@testable import LabGate

/// Feeds the evaluator one co2 reading per second of simulated monotonic time.
private struct Feed {
    var evaluator: Evaluator
    let start = ContinuousClock.now
    let wallStart = Date(timeIntervalSince1970: 1_800_000_000)

    init(config: Config) {
        evaluator = Evaluator(config: config)
    }

    mutating func co2(_ value: Double?, at second: Int, quality: Quality = .good, failure: String? = nil) -> [AlertEvent] {
        let time = wallStart.addingTimeInterval(Double(second))
        let reading = Reading(device: "INC-01", channel: "co2", time: time, value: value, quality: quality)
        return evaluator.evaluate(PollResult(
            device: "INC-01", time: time, instant: start + .seconds(second), readings: [reading], failure: failure))
    }
}

@Test("an excursion is raised only after its delay, stamped with the first out-of-spec reading")
func excursionAfterDelay() throws {
    var feed = Feed(config: incubatorConfig(delay: .seconds(10)))
    #expect(feed.co2(5.0, at: 0).isEmpty)
    for second in 1...10 {
        #expect(feed.co2(4.2, at: second).isEmpty, "no alert before the delay has passed (second \(second))")
    }
    let began = feed.co2(4.1, at: 11)
    #expect(began.map(\.event) == [.excursionBegan])
    let event = try #require(began.first)
    #expect(event.since == feed.wallStart.addingTimeInterval(1))
    #expect(event.time == feed.wallStart.addingTimeInterval(11))
    #expect(event.limit == .init(name: "low", value: 4.5, source: "spec msc-culture"))
    #expect(event.worst == 4.1)
    #expect(feed.co2(4.3, at: 12).isEmpty, "raised once, not on every reading")

    let recovered = feed.co2(4.8, at: 20)
    #expect(recovered.map(\.event) == [.excursionRecovered])
    #expect(recovered.first?.since == feed.wallStart.addingTimeInterval(1))
    #expect(recovered.first?.worst == 4.1)
    #expect(feed.co2(4.9, at: 21).isEmpty)
}

@Test("a dip shorter than the delay (a door opening) raises nothing")
func shortDipIsSilent() {
    var feed = Feed(config: incubatorConfig(delay: .seconds(10)))
    #expect(feed.co2(4.0, at: 0).isEmpty)
    #expect(feed.co2(4.0, at: 5).isEmpty)
    #expect(feed.co2(5.0, at: 6).isEmpty)
    #expect(feed.co2(4.0, at: 12).isEmpty, "a new dip starts its own delay")
}

@Test("a critical limit raises at once, whatever the delay")
func criticalAtOnce() throws {
    var feed = Feed(config: incubatorConfig(delay: .seconds(600)))
    #expect(feed.co2(4.0, at: 0).isEmpty)
    let events = feed.co2(1.5, at: 1)
    let event = try #require(events.first)
    #expect(events.count == 1)
    #expect(event.event == .excursionCritical)
    #expect(event.severity == .critical)
    #expect(event.limit?.name == "critical_low")
    #expect(event.limit?.value == 2.0)
    #expect(event.since == feed.wallStart, "stamped with the first out-of-spec reading, not the critical one")
    #expect(feed.co2(1.0, at: 2).isEmpty)
    #expect(feed.co2(5.0, at: 3).map(\.event) == [.excursionRecovered])
}

@Test("a critical limit passed during an announced excursion raises excursion_critical too; the recovery names the bound first passed")
func criticalDuringExcursion() {
    var feed = Feed(config: incubatorConfig(delay: .seconds(10)))
    #expect(feed.co2(4.2, at: 0).isEmpty)
    #expect(feed.co2(4.2, at: 10).map(\.event) == [.excursionBegan])
    let critical = feed.co2(1.5, at: 11)
    #expect(critical.map(\.event) == [.excursionCritical])
    #expect(critical.first?.limit == .init(name: "critical_low", value: 2.0, source: "spec msc-culture"))
    #expect(critical.first?.since == feed.wallStart)
    let recovered = feed.co2(5.0, at: 12)
    #expect(recovered.map(\.event) == [.excursionRecovered])
    #expect(recovered.first?.limit == .init(name: "low", value: 4.5, source: "spec msc-culture"))
    #expect(recovered.first?.worst == 1.5)
}

@Test("a value past the other side ends an announced excursion and starts another, stamped with that reading")
func otherSide() {
    var feed = Feed(config: incubatorConfig(delay: .zero))
    #expect(feed.co2(4.2, at: 0).map(\.event) == [.excursionBegan])
    let flip = feed.co2(5.8, at: 1)
    #expect(flip.map(\.event) == [.excursionRecovered, .excursionBegan])
    #expect(flip.first?.worst == 4.2 && flip.first?.since == feed.wallStart)
    #expect(flip.last?.limit?.name == "high" && flip.last?.since == feed.wallStart.addingTimeInterval(1))
}

@Test("readings without a value never feed the excursion logic, and a fault is raised once")
func badQualityIsNotAValue() {
    var feed = Feed(config: incubatorConfig(delay: .seconds(10)))
    #expect(feed.co2(4.0, at: 0).isEmpty)
    let fault = feed.co2(nil, at: 1, quality: .sensorFault)
    #expect(fault.map(\.event) == [.channelFault])
    #expect(feed.co2(nil, at: 2, quality: .sensorFault).isEmpty)
    // Still out of spec when values return: the run that began at 0 goes on.
    let back = feed.co2(4.0, at: 11)
    #expect(back.map(\.event) == [.channelRecovered, .excursionBegan])
    #expect(back.last?.since == feed.wallStart)
}

@Test("a device is unreachable after its configured number of failed polls, and back on the next answer")
func reachability() throws {
    var feed = Feed(config: incubatorConfig())
    #expect(feed.co2(5.0, at: 0).isEmpty)
    #expect(feed.co2(nil, at: 1, quality: .timeout, failure: "timeout").isEmpty)
    let down = feed.co2(nil, at: 2, quality: .timeout, failure: "timeout")
    #expect(down.map(\.event) == [.deviceUnreachable])
    #expect(down.first?.since == feed.wallStart.addingTimeInterval(1))
    #expect(feed.co2(nil, at: 3, quality: .timeout, failure: "timeout").isEmpty)
    let back = feed.co2(5.0, at: 4)
    #expect(back.map(\.event) == [.deviceBack])
    #expect(back.first?.since == feed.wallStart.addingTimeInterval(1))
}

@Test("the tightest of equipment limits and spec applies, with its own delay and source")
func tightestLimits() throws {
    let config = incubatorConfig()
    let limits = try #require(LimitsInForce(config: config, device: config.devices[0], channel: "temperature", lots: []).device)
    #expect(limits.low == .init(value: 36, delay: .seconds(10), source: "spec msc-culture"))
    #expect(limits.high == .init(value: 37.5, delay: .seconds(60), source: "equipment"))
    #expect(limits.criticalHigh == 39)
}

@Test("a bus going down and coming back raises bus_down (critical) and bus_up naming the bus")
func busEvents() {
    var evaluator = Evaluator(config: incubatorConfig())
    let time = Date(timeIntervalSince1970: 1_800_000_000)
    let down = evaluator.evaluate(.bus(BusStatusChange(bus: "rs485-a", time: time, up: false, reason: "port gone")))
    #expect(down == [AlertEvent(time: time, severity: .critical, event: .busDown, device: "rs485-a", detail: "port gone")])
    let up = evaluator.evaluate(.bus(BusStatusChange(bus: "rs485-a", time: time, up: true)))
    #expect(up.map(\.event) == [.busUp])
}

@Test("an excursion whose device stops answering is still raised once its delay has passed, on the timer's tick, with the last value read")
func excursionRaisedOnTick() throws {
    var feed = Feed(config: incubatorConfig(delay: .seconds(10)))
    _ = feed.co2(5.0, at: 0)
    #expect(feed.co2(4.2, at: 1).isEmpty)
    #expect(feed.co2(4.0, at: 2).isEmpty)
    // No more readings: the device is dead. Ticks before the delay say nothing.
    #expect(feed.evaluator.tick(wall: feed.wallStart.addingTimeInterval(10), instant: feed.start + .seconds(10)).isEmpty)
    let began = feed.evaluator.tick(wall: feed.wallStart.addingTimeInterval(11), instant: feed.start + .seconds(11))
    #expect(began.map(\.event) == [.excursionBegan])
    let event = try #require(began.first)
    #expect(event.since == feed.wallStart.addingTimeInterval(1), "stamped with the first out-of-spec reading")
    #expect(event.value == 4.0 && event.worst == 4.0 && event.channel == "co2")
    #expect(event.time == feed.wallStart.addingTimeInterval(11))
    #expect(feed.evaluator.tick(wall: feed.wallStart.addingTimeInterval(12), instant: feed.start + .seconds(12)).isEmpty, "raised once")
    #expect(feed.co2(4.1, at: 13).isEmpty, "nor again at the next reading")
    #expect(feed.co2(4.8, at: 14).map(\.event) == [.excursionRecovered])
    // A dip that ended before its delay is never raised by a tick.
    #expect(feed.co2(4.0, at: 20).isEmpty)
    #expect(feed.co2(5.0, at: 21).isEmpty)
    #expect(feed.evaluator.tick(wall: feed.wallStart.addingTimeInterval(40), instant: feed.start + .seconds(40)).isEmpty)
}
