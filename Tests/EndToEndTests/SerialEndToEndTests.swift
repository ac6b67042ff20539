import Foundation
import Glibc
import LabGate
import Testing

/// Two incubators and a freezer on one simulated RS-485 line at 19200 8E1, polled fast.
private let serialConfig = """
    site: e2e
    store: FOLDER/labgate.sqlite
    alerts: FOLDER
    buses:
      - id: rs485
        rtu: { port: FOLDER/dev/ttyRS485, baud: 19200, parity: even, data_bits: 8, stop_bits: 1 }
    devices:
      - { id: INC-01, kind: incubator, bus: rs485, unit: 1, profile: inc, every: 200ms, timeout: 300ms, retries: 0, unreachable_after: 2 }
      - { id: INC-02, kind: incubator, bus: rs485, unit: 2, profile: inc, every: 200ms, timeout: 300ms, retries: 0, unreachable_after: 2 }
      - { id: FRZ-17, kind: freezer, bus: rs485, unit: 17, profile: frz, every: 200ms, timeout: 300ms, retries: 0, unreachable_after: 2 }
    profiles:
      inc:
        temperature: { table: input, address: 0, type: float32, order: CDAB, unit: "°C" }
        co2: { table: input, address: 2, type: int16, scale: 0.01, unit: "%", invalid: [-32768] }
      frz:
        temperature: { table: holding, address: 10, type: float32, unit: "°C" }
    """

@Suite("daemon against the simulator on a serial line (pty, Modbus RTU)", .serialized)
struct SerialEndToEndTests {
    @Test("a dead device on a shared RTU line: it backs off, and the others keep at least 90 % of their scheduled reads")
    func deadDeviceOnSharedLine() async throws {
        let config = serialConfig
            .replacingOccurrences(of: "every: 200ms, timeout: 300ms, retries: 0, unreachable_after: 2 }", with: "every: 250ms, timeout: 300ms }")
            .replacingOccurrences(
                of: "profiles:",
                with: "  - { id: DEAD-09, kind: incubator, bus: rs485, unit: 9, profile: inc, every: 250ms, timeout: 500ms, retries: 0, unreachable_after: 1, backoff: { initial: 4s, max: 30s } }\nprofiles:")
        let harness = try Harness(config: config, scenario: "events:\n  - { at: 0s, device: DEAD-09, event: silent }\n")
        try await harness.startSim(serial: true)
        try harness.startDaemon(extra: [])
        try await Task.sleep(for: .seconds(15))
        harness.daemon?.kill(SIGTERM)
        #expect(try await harness.daemon?.wait(timeout: .seconds(10)) == 0)

        let dead = try harness.polls(device: "DEAD-09")
        #expect(dead.allSatisfy { $0.qualities == [.timeout] || $0.qualities == [.skipped] })
        #expect((2...5).contains(dead.filter { $0.qualities == [.timeout] }.count), "a few probes, the rest skipped")
        for id in ["INC-01", "INC-02", "FRZ-17"] {
            let done = try harness.polls(device: id)
            let first = try #require(done.first?.time), last = try #require(done.last?.time)
            let scheduled = Int((last.timeIntervalSince(first) / 0.25).rounded()) + 1
            #expect(Double(done.count) / Double(scheduled) >= 0.9, "\(id): \(done.count) of \(scheduled) scheduled reads")
            #expect(done.allSatisfy { $0.qualities == [.good] })
        }
        #expect(try harness.alertEvents().map(\.event) == [.deviceUnreachable])
    }

    @Test("RTU at 19200 8E1, three unit ids on one line: every poll stored with good values")
    func severalUnitsOnOneLine() async throws {
        let harness = try Harness(config: serialConfig)
        try await harness.startSim(serial: true)
        try harness.startDaemon()
        try await eventually("readings of every device", timeout: .seconds(30)) {
            ["INC-01", "INC-02", "FRZ-17"].allSatisfy { ((try? harness.readings(device: $0))?.count ?? 0) >= 20 }
        }
        harness.daemon?.kill(SIGTERM)
        #expect(try await harness.daemon?.wait(timeout: .seconds(10)) == 0)

        let target = try FileManager.default.destinationOfSymbolicLink(atPath: harness.serialPort)
        #expect(target.hasPrefix("/dev/pts/"))
        #expect(harness.sim!.stderr.contains(
            "sim: bus rs485 on \(harness.serialPort) -> \(target) (rtu 19200 8E1), units 1 INC-01, 2 INC-02, 17 FRZ-17"))
        #expect(harness.daemon!.stderr.contains("polling bus rs485 (rtu \(harness.serialPort) 19200 8E1): INC-01, INC-02, FRZ-17"))
        for device in ["INC-01", "INC-02"] {
            let readings = try harness.readings(device: device)
            #expect(readings.allSatisfy { $0.quality == .good }, "\(readings.filter { $0.quality != .good }.prefix(3))")
            #expect(readings.filter { $0.channel == "temperature" }.allSatisfy { abs($0.value! - 37) < 0.5 })
            #expect(readings.filter { $0.channel == "co2" }.allSatisfy { abs($0.value! - 5) < 0.5 })
        }
        let freezer = try harness.readings(device: "FRZ-17")
        #expect(freezer.allSatisfy { $0.quality == .good && abs($0.value! + 80) < 1 })
        #expect(try harness.alertEvents().isEmpty)
    }

    @Test("the port vanishes (adapter unplugged) and comes back: bus_down, no values meanwhile, bus_up, polling resumes without a restart")
    func portVanishesAndReturns() async throws {
        let harness = try Harness(
            config: serialConfig,
            scenario: "events:\n  - { at: 4s, device: INC-02, event: port_vanish, for: 3s }\n")
        try await harness.startSim(serial: true)
        try harness.startDaemon()
        let daemon = try #require(harness.daemon)
        try await eventually("bus_up", timeout: .seconds(40)) {
            try harness.alertEvents().contains { $0.event == .busUp }
        }
        let up = try #require(try harness.alertEvents().first { $0.event == .busUp })
        try await eventually("good readings after bus_up", timeout: .seconds(20)) {
            try harness.readings(device: "INC-01").filter { $0.time > up.time && $0.quality == .good }.count >= 6
        }
        #expect(daemon.isRunning, "the same daemon process throughout")
        daemon.kill(SIGTERM)
        #expect(try await daemon.wait(timeout: .seconds(10)) == 0)

        let events = try harness.alertEvents()
        let bus = events.filter { $0.event == .busDown || $0.event == .busUp }
        #expect(bus.map(\.event) == [.busDown, .busUp], "\(events)")
        #expect(bus.allSatisfy { $0.device == "rs485" })
        let down = try #require(bus.first)
        #expect(down.detail == "cannot open \(harness.serialPort): No such file or directory")
        #expect(down.severity == .critical)
        #expect(harness.alertLines().contains { $0.contains("bus_down") && $0.contains("rs485") })
        #expect(harness.sim!.stderr.contains("sim: serial port \(harness.serialPort) vanished"))
        #expect(harness.sim!.stderr.contains("sim: serial port \(harness.serialPort) is back on /dev/pts/"))

        for device in ["INC-01", "INC-02", "FRZ-17"] {
            let readings = try harness.readings(device: device)
            let lost = readings.filter { $0.quality != .good }
            #expect(!lost.isEmpty, "\(device) had failed polls while the port was gone")
            #expect(lost.allSatisfy { $0.value == nil && [.disconnected, .timeout, .skipped].contains($0.quality) }, "\(lost.prefix(3))")
            #expect(lost.contains { $0.quality == .disconnected && $0.time >= down.time && $0.time <= up.time })
            #expect(readings.contains { $0.quality == .good && $0.time < down.time }, "\(device) polled before")
            #expect(readings.contains { $0.quality == .good && $0.time > up.time }, "\(device) polled again after")
            // (The poll that proved the line back started a moment before bus_up was stamped.)
            #expect(!readings.contains { $0.quality == .good && $0.time > down.time && $0.time.addingTimeInterval(0.5) < up.time })
        }
    }
}
