import LabGate
import Modbus

/// Configs built in code (the YAML loader is written elsewhere).
enum TestConfig {
    static let incubator = Profile(name: "sim-incubator", fields: [
        Field(channel: "temperature", table: .input, address: 0, type: .float32, order: .abcd, unit: "°C"),
        Field(channel: "co2", table: .input, address: 2, type: .int16, scale: 0.01, unit: "%", invalid: [-32768]),
        Field(channel: "rh", table: .input, address: 3, type: .uint16, scale: 0.1, unit: "%"),
    ])
    static let freezer = Profile(name: "sim-ult-freezer", fields: [
        Field(channel: "temperature", table: .holding, address: 10, type: .float32, order: .cdab, unit: "°C"),
        Field(channel: "alarm_temp", table: .holding, address: 12, type: .int16, scale: 0.1, unit: "°C"),
    ])
    static let ln2 = Profile(name: "sim-ln2", fields: [
        Field(channel: "temperature", table: .input, address: 0, type: .int16, scale: 0.1, unit: "°C"),
        Field(channel: "level", table: .input, address: 1, type: .uint16, scale: 0.1, unit: "%"),
    ])
    static let fridge = Profile(name: "sim-fridge", fields: [
        Field(channel: "temperature", table: .input, address: 0, type: .int32, scale: 0.001, offset: -100, unit: "°C"),
    ])

    /// INC-01 (unit 1), INC-02 (unit 2), FRZ-01 (unit 3), LN2-01 (unit 4), FRG-01 (unit 5) on one
    /// TCP bus `lan` at `host:port`.
    static func make(host: String = "127.0.0.1", port: Int = 1502, extraBuses: [Bus] = [], extraDevices: [Device] = []) -> Config {
        let every = Duration.seconds(10)
        return Config(
            file: "test.yaml", site: "test-site", store: "test.sqlite", alerts: "alerts",
            buses: [Bus(id: "lan", transport: .tcp(host: host, port: port))] + extraBuses,
            devices: [
                Device(id: "INC-01", kind: .incubator, bus: "lan", unit: 1, profile: "sim-incubator", every: every),
                Device(id: "INC-02", kind: .incubator, bus: "lan", unit: 2, profile: "sim-incubator", every: every),
                Device(id: "FRZ-01", kind: .freezer, bus: "lan", unit: 3, profile: "sim-ult-freezer", every: every),
                Device(id: "LN2-01", kind: .ln2Tank, bus: "lan", unit: 4, profile: "sim-ln2", every: every),
                Device(id: "FRG-01", kind: .fridge, bus: "lan", unit: 5, profile: "sim-fridge", every: every),
            ] + extraDevices,
            profiles: [
                incubator.name: incubator, freezer.name: freezer, ln2.name: ln2, fridge.name: fridge,
            ],
            specs: [:])
    }

    /// An I/O module's profile: its first output register, read back by the poller.
    static let ioModule = Profile(name: "sim-io-module", fields: [
        Field(channel: "output_0", table: .holding, address: 0, type: .uint16),
    ])

    /// IO-01 (unit 1), an I/O module alone on TCP bus `lan`.
    static func ioModule(port: Int, every: Duration = .seconds(10)) -> Config {
        Config(
            file: "test.yaml", site: "test-site", store: "test.sqlite", alerts: "alerts",
            buses: [Bus(id: "lan", transport: .tcp(host: "127.0.0.1", port: port))],
            devices: [Device(id: "IO-01", kind: .ioModule, bus: "lan", unit: 1, profile: ioModule.name, every: every)],
            profiles: [ioModule.name: ioModule], specs: [:])
    }

    /// Decodes `words` read from a field's registers to its physical value.
    static func decode(_ words: [UInt16], _ field: Field) throws -> Double {
        try RegisterCodec.decode(words, as: field.type, order: field.order) * field.scale + field.offset
    }
}
