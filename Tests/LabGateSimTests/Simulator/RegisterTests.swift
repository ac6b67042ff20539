import LabGate
import Modbus
import Testing

@testable import LabGateSim

@Suite("Registers and replies")
struct RegisterTests {
    let config = TestConfig.make()

    @Test("values are encoded as raw = (value - offset) / scale in the field's type and order")
    func encoding() throws {
        let co2 = try #require(TestConfig.incubator.field("co2"))
        #expect(RegisterImage.words(for: co2, value: 5.0) == [500])
        let fridge = try #require(TestConfig.fridge.field("temperature"))
        // (5 - (-100)) / 0.001 = 105000 = 0x00019A28
        #expect(RegisterImage.words(for: fridge, value: 5.0) == [0x0001, 0x9A28])
        let freezer = try #require(TestConfig.freezer.field("temperature"))
        let words = RegisterImage.words(for: freezer, value: -80.25)
        #expect(words == [0x8000, 0xC2A0])  // -80.25 = 0xC2A08000, CDAB swaps the words
        #expect(try TestConfig.decode(words, freezer) == -80.25)
    }

    @Test("a faulty sensor sends the profile's invalid value, else NaN or the type's sentinel")
    func faultValues() throws {
        let co2 = try #require(TestConfig.incubator.field("co2"))
        #expect(RegisterImage.words(for: co2, value: 5, faulty: true) == [0x8000])
        let temperature = try #require(TestConfig.incubator.field("temperature"))
        let nan = RegisterImage.words(for: temperature, value: 37, faulty: true)
        #expect(try RegisterCodec.decode(nan, as: .float32, order: .abcd).isNaN)
        let rh = try #require(TestConfig.incubator.field("rh"))
        #expect(RegisterImage.words(for: rh, value: 95, faulty: true) == [0xFFFF])
        let fridge = try #require(TestConfig.fridge.field("temperature"))
        #expect(RegisterImage.words(for: fridge, value: 5, faulty: true) == [0x8000, 0x0000])
        let custom = Field(channel: "x", table: .input, address: 0, type: .uint16, invalid: [0x7FFF, 0xFFFF])
        #expect(RegisterImage.words(for: custom, value: 1, faulty: true) == [0x7FFF])
    }

    @Test("requests get registers or the right exception")
    func replies() throws {
        var sim = Simulation(config: config, seed: 1)
        sim.advance(by: .seconds(1))
        guard case let .registers(words) = sim.reply(bus: "lan", unit: 1, request: .read(table: .input, address: 0, count: 4)) else {
            Issue.record("no registers")
            return
        }
        #expect(abs(try TestConfig.decode(Array(words[0..<2]), TestConfig.incubator.fields[0]) - 37) < 0.05)
        #expect(abs(try TestConfig.decode([words[2]], TestConfig.incubator.fields[1]) - 5) < 0.05)
        // The second word of a float alone is still mapped.
        #expect(sim.reply(bus: "lan", unit: 1, request: .read(table: .input, address: 1, count: 1)) == .registers([words[1]]))

        let cases: [(UInt8, ModbusRequest, ModbusReply)] = [
            (1, .read(table: .input, address: 3, count: 2), .exception(.illegalDataAddress)),  // 4 unmapped
            (1, .read(table: .holding, address: 0, count: 1), .exception(.illegalDataAddress)),  // wrong table
            (1, .read(table: .input, address: 0, count: 0), .exception(.illegalDataValue)),
            (1, .read(table: .input, address: 0, count: 126), .exception(.illegalDataValue)),
            (1, .unsupported(function: 6), .exception(.illegalFunction)),
            (9, .read(table: .input, address: 0, count: 1), .exception(.gatewayTargetFailed)),
        ]
        for (unit, request, expected) in cases {
            #expect(sim.reply(bus: "lan", unit: unit, request: request) == expected, "unit \(unit) \(request)")
        }
        #expect(sim.reply(bus: "other", unit: 1, request: .read(table: .input, address: 0, count: 1)) == .exception(.gatewayTargetFailed))
    }

    @Test("silent, exception and sensor_fault events change the replies while they last")
    func faultInjection() throws {
        var sim = Simulation(config: config, scenario: Scenario(events: [
            ScenarioEvent(at: .seconds(10), device: "INC-01", kind: .silent, duration: .seconds(10)),
            ScenarioEvent(at: .seconds(10), device: "INC-02", kind: .exception(code: 6), duration: .seconds(10)),
            ScenarioEvent(at: .seconds(10), device: "FRZ-01", kind: .sensorFault(channel: "temperature"), duration: .seconds(10)),
        ]), seed: 1)
        let read = ModbusRequest.read(table: .input, address: 2, count: 1)
        let freezer = ModbusRequest.read(table: .holding, address: 10, count: 3)
        sim.advance(to: .seconds(10))
        #expect(sim.reply(bus: "lan", unit: 1, request: read) == ModbusReply.none)
        #expect(sim.reply(bus: "lan", unit: 2, request: read) == .exception(.busy))
        guard case let .registers(faulty) = sim.reply(bus: "lan", unit: 3, request: freezer) else {
            Issue.record("no registers")
            return
        }
        #expect(try TestConfig.decode(Array(faulty[0..<2]), TestConfig.freezer.fields[0]).isNaN)
        // physics goes on behind the fault
        #expect(abs(try #require(sim.value(device: "FRZ-01", channel: "temperature")) + 80) < 0.1)

        sim.advance(to: .seconds(20))
        guard case let .registers(co2) = sim.reply(bus: "lan", unit: 1, request: read) else {
            Issue.record("INC-01 still silent")
            return
        }
        #expect(abs(try TestConfig.decode(co2, TestConfig.incubator.fields[1]) - 5) < 0.05)
        guard case .registers = sim.reply(bus: "lan", unit: 2, request: read) else {
            Issue.record("INC-02 still failing")
            return
        }
        guard case let .registers(healthy) = sim.reply(bus: "lan", unit: 3, request: freezer) else {
            Issue.record("no registers")
            return
        }
        #expect(abs(try TestConfig.decode(Array(healthy[0..<2]), TestConfig.freezer.fields[0]) + 80) < 0.1)
    }

    @Test("an exception event with 'every: N' answers the 1st, (N+1)th … request with it, the others normally")
    func transientException() throws {
        var sim = Simulation(config: config, scenario: Scenario(events: [
            ScenarioEvent(at: .seconds(10), device: "INC-02", kind: .exception(code: 6), duration: .seconds(10), every: 3),
        ]), seed: 1)
        let read = ModbusRequest.read(table: .input, address: 2, count: 1)
        sim.advance(to: .seconds(10))
        var replies: [String] = []
        for _ in 0..<7 {
            switch sim.reply(bus: "lan", unit: 2, request: read) {
            case .exception(let exception): replies.append("E\(exception.code)")
            case .registers: replies.append("R")
            default: replies.append("?")
            }
        }
        #expect(replies == ["E6", "R", "R", "E6", "R", "R", "E6"])
        // Other devices are not counted with it, and are not affected.
        guard case .registers = sim.reply(bus: "lan", unit: 1, request: read) else {
            Issue.record("INC-01 affected")
            return
        }
        // The count starts afresh with the next such event; after the end, plain replies.
        sim.advance(to: .seconds(20))
        guard case .registers = sim.reply(bus: "lan", unit: 2, request: read) else {
            Issue.record("INC-02 still failing")
            return
        }
    }

    @Test("a forced channel reads its value exactly from the next request until released")
    func forcedReading() throws {
        var sim = Simulation(config: config, seed: 1)
        sim.advance(by: .seconds(1))
        let co2 = ModbusRequest.read(table: .input, address: 2, count: 1)
        let forced = sim.force(device: "INC-01", channel: "co2", to: 9.5)
        let first = sim.reply(bus: "lan", unit: 1, request: co2)
        #expect(forced)
        #expect(first == .registers([950]))
        // It holds through physics steps, and leaves the other channels and devices alone.
        sim.advance(by: .seconds(5))
        let later = sim.reply(bus: "lan", unit: 1, request: co2)
        #expect(later == .registers([950]))
        guard case let .registers(other) = sim.reply(bus: "lan", unit: 2, request: co2) else {
            Issue.record("no registers")
            return
        }
        #expect(abs(try TestConfig.decode(other, TestConfig.incubator.fields[1]) - 5) < 0.05)
        // Released, it reads the physics again at once.
        let released = sim.force(device: "INC-01", channel: "co2", to: nil)
        #expect(released)
        guard case let .registers(physics) = sim.reply(bus: "lan", unit: 1, request: co2) else {
            Issue.record("no registers")
            return
        }
        #expect(abs(try TestConfig.decode(physics, TestConfig.incubator.fields[1]) - 5) < 0.05)
        let noChannel = sim.force(device: "INC-01", channel: "nope", to: 1)
        let noDevice = sim.force(device: "NOPE", channel: "co2", to: 1)
        #expect(!noChannel && !noDevice)
    }

    @Test("simulated time is written as announced")
    func timeText() {
        #expect(SimTimeText.format(.seconds(45)) == "+45s")
        #expect(SimTimeText.format(.seconds(60)) == "+1m00s")
        #expect(SimTimeText.format(.seconds(7530)) == "+2h05m30s")
        #expect(SimTimeText.format(.milliseconds(60_500)) == "+1m00.500s")
    }

    @Test("only loopback hosts are served")
    func loopback() {
        for host in ["127.0.0.1", "127.1.2.3", "localhost", "LOCALHOST", "::1", "[::1]"] {
            #expect(Loopback.isLoopback(host), "\(host)")
        }
        for host in ["192.0.2.10", "10.0.0.1", "127.0.0", "127.0.0.256", "0.0.0.0", "example.com", "::", "128.0.0.1"] {
            #expect(!Loopback.isLoopback(host), "\(host)")
        }
    }
}
