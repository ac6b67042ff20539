import Foundation
@testable import LabGate
@_exported import TestSupport

/// A small config built in code: one incubator with a spec and equipment limits.
func incubatorConfig(delay: Duration = .seconds(10), folder: String = "/tmp") -> Config {
    let profile = Profile(name: "inc", fields: [
        Field(channel: "temperature", table: .input, address: 0, type: .float32, unit: "°C"),
        Field(channel: "co2", table: .input, address: 2, type: .int16, scale: 0.01, unit: "%", invalid: [-32768]),
    ])
    let spec = Spec(name: "msc-culture", limits: [
        "temperature": ChannelLimits(low: 36, high: 38, delay: delay, criticalHigh: 39, source: "spec msc-culture"),
        "co2": ChannelLimits(low: 4.5, high: 5.5, delay: delay, criticalLow: 2.0, source: "spec msc-culture"),
    ])
    let device = Device(
        id: "INC-01", kind: .incubator, bus: "sim", unit: 1, profile: "inc", every: .seconds(1), spec: "msc-culture",
        limits: ["temperature": ChannelLimits(low: 35, high: 37.5, delay: .seconds(60), source: "equipment")],
        unreachableAfter: 2)
    return Config(
        file: "test.yaml", site: "test", store: folder + "/labgate.sqlite", alerts: folder,
        buses: [Bus(id: "sim", transport: .tcp(host: "127.0.0.1", port: 1502))],
        devices: [device], profiles: ["inc": profile], specs: ["msc-culture": spec])
}
