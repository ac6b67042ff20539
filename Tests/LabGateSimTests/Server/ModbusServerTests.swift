import CModbus
import Foundation
import Glibc
import LabGate
import LabGateSim
import Testing

/// The simulator's Modbus TCP server, spoken to by a real libmodbus client over loopback.
@Suite("Modbus TCP server", .serialized)
struct ModbusServerTests {
    /// A started simulator on a free port, with `events`.
    func simulator(_ events: [ScenarioEvent] = [], announce: Announcements = Announcements()) throws -> (Simulator, Int) {
        let port = freePort()
        let simulator = Simulator(
            config: TestConfig.make(port: port), scenario: Scenario(events: events), seed: 3, announce: announce.record)
        try simulator.start()
        return (simulator, port)
    }

    @Test("two unit ids on one port answer with values near their set points")
    func twoUnits() throws {
        let (simulator, port) = try simulator()
        defer { simulator.stop() }

        let incubator = try LibModbusClient(port: port, unit: 1)
        let input = try incubator.read(.input, address: 0, count: 4).get()
        #expect(input.count == 4)
        let temperature = try TestConfig.decode(Array(input[0..<2]), TestConfig.incubator.fields[0])
        let co2 = try TestConfig.decode([input[2]], TestConfig.incubator.fields[1])
        let rh = try TestConfig.decode([input[3]], TestConfig.incubator.fields[2])
        #expect(abs(temperature - 37) < 0.1, "temperature \(temperature)")
        #expect(abs(co2 - 5) < 0.05, "co2 \(co2)")
        #expect(abs(rh - 95) < 0.2, "rh \(rh)")

        let freezer = try LibModbusClient(port: port, unit: 3)
        let holding = try freezer.read(.holding, address: 10, count: 3).get()
        let frozen = try TestConfig.decode(Array(holding[0..<2]), TestConfig.freezer.fields[0])
        #expect(abs(frozen + 80) < 0.1, "freezer \(frozen)")

        // One connection may switch units between requests.
        incubator.setUnit(4)
        let ln2 = try incubator.read(.input, address: 0, count: 2).get()
        #expect(abs(try TestConfig.decode([ln2[0]], TestConfig.ln2.fields[0]) + 190) < 0.15)
        #expect(abs(try TestConfig.decode([ln2[1]], TestConfig.ln2.fields[1]) - 80) < 0.15)
        // The value served is the simulator's physical value.
        let served = try TestConfig.decode(try incubator.read(.input, address: 1, count: 1).get(), TestConfig.ln2.fields[1])
        #expect(abs(served - (simulator.value(device: "LN2-01", channel: "level") ?? 0)) < 0.2)
    }

    @Test("an unknown unit gets exception 0x0B, an unmapped address exception 2")
    func exceptions() throws {
        let (simulator, port) = try simulator()
        defer { simulator.stop() }
        let client = try LibModbusClient(port: port, unit: 42)
        #expect(client.read(.input, address: 0, count: 2) == .failure(.errno(LG_EMBXGTAR)))
        client.setUnit(1)
        #expect(client.read(.input, address: 100, count: 2) == .failure(.errno(LG_EMBXILADD)))
        #expect(client.read(.input, address: 3, count: 2) == .failure(.errno(LG_EMBXILADD)))
        #expect(client.read(.holding, address: 0, count: 2) == .failure(.errno(LG_EMBXILADD)))
        // The connection is still good after exceptions.
        #expect((try? client.read(.input, address: 0, count: 2).get())?.count == 2)
    }

    @Test("a silent device times out while another unit on the same server still answers")
    func silent() throws {
        let (simulator, port) = try simulator([ScenarioEvent(at: .zero, device: "INC-01", kind: .silent)])
        defer { simulator.stop() }
        let quiet = try LibModbusClient(port: port, unit: 1, timeout: .milliseconds(300))
        let other = try LibModbusClient(port: port, unit: 2, timeout: .milliseconds(300))
        let started = ContinuousClock.now
        #expect(quiet.read(.input, address: 0, count: 2) == .failure(.errno(ETIMEDOUT)))
        #expect(ContinuousClock.now - started >= .milliseconds(250))
        #expect(abs(try TestConfig.decode(try other.read(.input, address: 2, count: 1).get(), TestConfig.incubator.fields[1]) - 5) < 0.05)
        // On the same connection too: the silent request leaves nothing behind.
        quiet.setUnit(2)
        #expect((try? quiet.read(.input, address: 2, count: 1).get())?.count == 1)
    }

    @Test("exception and sensor_fault events reach the client")
    func faults() throws {
        let (simulator, port) = try simulator([
            ScenarioEvent(at: .zero, device: "INC-02", kind: .exception(code: 6)),
            ScenarioEvent(at: .zero, device: "INC-01", kind: .sensorFault(channel: "co2")),
        ])
        defer { simulator.stop() }
        let client = try LibModbusClient(port: port, unit: 2)
        #expect(client.read(.input, address: 0, count: 2) == .failure(.errno(LG_EMBXSBUSY)))
        client.setUnit(1)
        #expect(try client.read(.input, address: 2, count: 1).get() == [0x8000])
    }

    @Test("bad count, unknown function and garbage frames")
    func rawFrames() throws {
        let (simulator, port) = try simulator()
        defer { simulator.stop() }
        let client = try #require(RawClient(port: port))
        // count 0 and 126: exception 3, echoing transaction and unit
        #expect(client.send(RawClient.frame(transaction: 7, unit: 1, function: 4, data: [0, 0, 0, 0])))
        #expect(client.receive() == .bytes([0, 7, 0, 0, 0, 3, 1, 0x84, 3]))
        #expect(client.send(RawClient.frame(transaction: 8, unit: 1, function: 3, data: [0, 0, 0, 126])))
        #expect(client.receive() == .bytes([0, 8, 0, 0, 0, 3, 1, 0x83, 3]))
        // write single register: exception 1
        #expect(client.send(RawClient.frame(transaction: 9, unit: 1, function: 6, data: [0, 0, 0, 1])))
        #expect(client.receive() == .bytes([0, 9, 0, 0, 0, 3, 1, 0x86, 1]))
        // a good read, byte for byte: co2 of INC-01 is ~500 = 0x01F4 (± 2 of noise)
        #expect(client.send(RawClient.frame(transaction: 0x1234, unit: 1, function: 4, data: [0, 2, 0, 1])))
        guard case let .bytes(reply) = client.receive() else {
            Issue.record("no reply")
            return
        }
        #expect(Array(reply.prefix(9)) == [0x12, 0x34, 0, 0, 0, 5, 1, 4, 2])
        #expect(abs(Int(reply[9]) << 8 | Int(reply[10]) - 500) <= 3)

        // protocol id 1: the server hangs up
        #expect(client.send([0, 1, 0, 1, 0, 6, 1, 4, 0, 0, 0, 1]))
        #expect(client.receive() == .closed)

        // a read request with a short PDU: hung up as well
        let short = try #require(RawClient(port: port))
        #expect(short.send(RawClient.frame(unit: 1, function: 3, data: [0, 0, 0])))
        #expect(short.receive() == .closed)

        // an impossible length
        let long = try #require(RawClient(port: port))
        #expect(long.send([0, 1, 0, 0, 0x10, 0x00, 1, 4]))
        #expect(long.receive() == .closed)

        // and the server still serves others
        let fresh = try LibModbusClient(port: port, unit: 2)
        #expect((try? fresh.read(.input, address: 0, count: 4).get())?.count == 4)
    }

    @Test("a stopped server closes its connections and its port can be bound again at once")
    func restart() async throws {
        let (simulator, port) = try simulator()
        let client = try LibModbusClient(port: port, unit: 1, timeout: .milliseconds(500))
        #expect((try? client.read(.input, address: 0, count: 2).get())?.count == 2)
        let idle = try #require(RawClient(port: port))

        simulator.stop()
        #expect(!simulator.isRunning)
        #expect(idle.receive() == .closed)
        #expect(!canConnect(port: port))

        try simulator.start()
        #expect(simulator.isRunning)
        let again = try LibModbusClient(port: port, unit: 1)
        #expect((try? again.read(.input, address: 0, count: 2).get())?.count == 2)
        simulator.stop()

        // A plain server on the same port, right after.
        struct Fixed: ModbusRequestHandler {
            func reply(unit: UInt8, request: ModbusRequest) -> ModbusReply { .registers([UInt16(unit), 0xBEEF]) }
        }
        let server = ModbusTCPServer(host: "127.0.0.1", port: port, handler: Fixed())
        try server.start()
        #expect(server.port == port)
        let plain = try LibModbusClient(port: port, unit: 9)
        #expect(try plain.read(.holding, address: 0, count: 2).get() == [9, 0xBEEF])
        server.stop()
        try server.start()
        let plainAgain = try LibModbusClient(port: port, unit: 8)
        #expect(try plainAgain.read(.holding, address: 0, count: 2).get() == [8, 0xBEEF])
        server.stop()
        #expect(server.port == nil)
    }

    @Test("a port in use is a clear error naming bus and host:port")
    func portInUse() throws {
        let (simulator, port) = try simulator()
        defer { simulator.stop() }
        let second = Simulator(config: TestConfig.make(port: port), announce: { _ in })
        do {
            try second.start()
            Issue.record("started twice on one port")
            second.stop()
        } catch {
            #expect(error.description == "bus lan: cannot listen on 127.0.0.1:\(port): bind: Address already in use")
        }
        #expect(!second.isRunning)
    }

    @Test("port 0 lets the system choose; the server reports it")
    func ephemeralPort() throws {
        let simulator = Simulator(config: TestConfig.make(port: 0), announce: { _ in })
        try simulator.start()
        defer { simulator.stop() }
        let port = try #require(simulator.port(bus: "lan"))
        #expect(port > 0)
        let client = try LibModbusClient(port: port, unit: 5)
        let words = try client.read(.input, address: 0, count: 2).get()
        #expect(abs(try TestConfig.decode(words, TestConfig.fridge.fields[0]) - 5) < 0.05)
    }

    @Test("several clients at once each get their answers")
    func concurrentClients() async throws {
        let (simulator, port) = try simulator()
        defer { simulator.stop() }
        let failures = await withTaskGroup(of: Int.self) { group in
            for unit in 1...4 {
                group.addTask {
                    guard let client = try? LibModbusClient(port: port, unit: unit) else { return 100 }
                    var failures = 0
                    for _ in 0..<50 {
                        let table: LibModbusClient.Table = unit == 3 ? .holding : .input
                        if (try? client.read(table, address: unit == 3 ? 10 : 0, count: 2).get())?.count != 2 { failures += 1 }
                    }
                    return failures
                }
            }
            return await group.reduce(0, +)
        }
        #expect(failures == 0)
    }
}
