import Foundation
import Testing
@testable import LabGate
@testable import LabGateDaemon

/// The incubator config with a lot spec tighter than the device's own limits.
func statusConfig() -> Config {
    var config = incubatorConfig()
    config.specs["tight"] = Spec(name: "tight", limits: [
        "co2": ChannelLimits(low: 4.8, high: 5.2, delay: .seconds(10), source: "spec tight")
    ])
    config.http = HTTPSettings(port: 9417, refresh: .seconds(3))
    return config
}

func answered(_ device: String, at time: Date, _ values: [String: Double?], quality: Quality = .good) -> DeviceStatus {
    var status = DeviceStatus(device: device, updated: time)
    status.lastPoll = time
    status.lastAnswer = time
    status.pollsAnswered = 1
    for (channel, value) in values.sorted(by: { $0.key < $1.key }) {
        let q: Quality = value == nil ? quality : .good
        status.channels.append(ChannelStatus(channel: channel, time: time, value: value, quality: q, lastGoodValue: value, lastGoodTime: value == nil ? nil : time))
    }
    return status
}

@Suite("status snapshot (/status)")
struct StatusSnapshotTests {
    let now = Date(timeIntervalSince1970: 1_800_000_100)
    let started = Date(timeIntervalSince1970: 1_800_000_000)

    private func build(_ status: DeviceStatus?, lots: [LotSpec] = [], deviations: [DeviationRecord] = [], config: Config = statusConfig()) -> StatusSnapshot {
        StatusSnapshot.build(
            config: config, statuses: status.map { [$0.device: $0] } ?? [:],
            readings: status.map { [$0.device: $0.channels] } ?? [:], lots: { _ in lots }, deviations: deviations,
            backlog: StoreBacklog(held: 12, oldest: now.addingTimeInterval(-1.5)), started: started, now: now)
    }

    @Test("values against the limits in force: equipment, the device's spec and the lots' specs, tightest wins")
    func limitsAndSpec() throws {
        let snapshot = build(
            answered("INC-01", at: now.addingTimeInterval(-1), ["temperature": 37.6, "co2": 5.1]),
            lots: [LotSpec(lot: "MSC-AT-0042", spec: "tight")])
        #expect(snapshot.site == "test" && snapshot.started == started && snapshot.time == now)
        #expect(snapshot.refreshSeconds == 3)
        #expect(snapshot.store == .init(held: 12, writeLagSeconds: 1.5))
        let device = try #require(snapshot.devices.first)
        #expect(device.state == .ok && device.condition == .outOfSpec && !device.stale)
        #expect(device.lots == [LotSpec(lot: "MSC-AT-0042", spec: "tight")])
        #expect(device.channels.map(\.channel) == ["temperature", "co2"], "profile order")
        let temperature = device.channels[0]
        #expect(temperature.unit == "°C")
        #expect(temperature.limits == .init(low: 36, high: 37.5, criticalLow: nil, criticalHigh: 39, sources: ["equipment", "spec msc-culture"]))
        #expect(temperature.inSpec == false && temperature.breached == "high")
        let co2 = device.channels[1]
        #expect(co2.limits?.low == 4.8 && co2.limits?.high == 5.2 && co2.limits?.criticalLow == 2)
        #expect(co2.inSpec == true && co2.breached == nil)
    }

    @Test("device states: never polled, ok, failing, backoff; stale after three poll periods, and at least 10 s past one")
    func states() throws {
        #expect(build(nil).devices[0].state == .neverPolled)
        #expect(build(nil).devices[0].condition == .fault)
        #expect(build(nil).devices[0].channels.allSatisfy { $0.quality == nil && $0.inSpec == nil })

        let fine = answered("INC-01", at: now.addingTimeInterval(-2), ["temperature": 37, "co2": 5])
        #expect(build(fine).devices[0].state == .ok)
        #expect(build(fine).devices[0].condition == .inSpec)

        var failing = fine
        failing.consecutiveFailures = 2
        failing.lastError = "timeout"
        failing.channels = failing.channels.map { ChannelStatus(channel: $0.channel, time: now, value: nil, quality: .timeout, lastGoodValue: $0.value, lastGoodTime: $0.time) }
        let failed = build(failing).devices[0]
        #expect(failed.state == .failing && failed.condition == .fault && failed.unreachable)
        #expect(failed.channels[0].value == nil && failed.channels[0].lastGoodValue == 37)

        failing.nextTry = now.addingTimeInterval(20)
        #expect(build(failing).devices[0].state == .backoff)

        let old = answered("INC-01", at: now.addingTimeInterval(-12), ["temperature": 37, "co2": 5])
        #expect(build(old).devices[0].stale)
        #expect(build(old).devices[0].condition == .stale)
        let recent = answered("INC-01", at: now.addingTimeInterval(-9), ["temperature": 37, "co2": 5])
        #expect(!build(recent).devices[0].stale)

        let fault = answered("INC-01", at: now, ["temperature": 37, "co2": nil], quality: .sensorFault)
        #expect(build(fault).devices[0].condition == .fault)
        #expect(build(fault).devices[0].channels[1].quality == .sensorFault)
    }

    @Test("deviations not closed, open first, on their device and with the live worst value; JSON round trip")
    func deviationsAndJSON() throws {
        var recovered = deviation("DEV-2026-0001", device: "INC-01")
        recovered.end = recovered.start + 60_000
        let open = deviation("DEV-2026-0002", device: "INC-01", lots: ["MSC-AT-0042"])
        var closed = deviation("DEV-2026-0003", device: "INC-01")
        closed.end = closed.start + 1
        closed.ackedAt = closed.end
        closed.closedAt = closed.end
        let snapshot = build(answered("INC-01", at: now, ["co2": 5]), deviations: [recovered, open, closed])
        #expect(snapshot.deviations.map(\.id) == ["DEV-2026-0002", "DEV-2026-0001"])
        #expect(snapshot.deviations.map(\.state) == [.open, .recovered])
        #expect(snapshot.devices[0].deviations == ["DEV-2026-0002", "DEV-2026-0001"])
        #expect(snapshot.deviations[0].start == Date(millisecondsSince1970: 1_800_000_006_000))

        let json = String(decoding: snapshot.json(), as: UTF8.self)
        #expect(json.contains(#""state" : "ok""#))
        #expect(json.contains(#""time" : "2027-01-15T08:01:40.000Z""#))
        #expect(json.contains(#""lots" : ["#))
        #expect(try StatusSnapshot.decode(snapshot.json()) == snapshot)
    }
}
