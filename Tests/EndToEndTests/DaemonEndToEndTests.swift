import Foundation
import Glibc
import LabGate
import Testing

/// Two incubators on one simulated TCP bus, polled fast, with a short CO2 delay.
private func config(every: String = "200ms", timeout: String = "300ms", retries: Int = 0) -> String {
    """
    site: e2e
    store: FOLDER/labgate.sqlite
    alerts: FOLDER
    buses:
      - id: lan
        tcp: { host: 127.0.0.1, port: PORT }
    devices:
      - { id: INC-01, kind: incubator, bus: lan, unit: 1, profile: inc, every: \(every), spec: culture, timeout: \(timeout), retries: \(retries), unreachable_after: 2 }
      - { id: INC-02, kind: incubator, bus: lan, unit: 2, profile: inc, every: \(every), spec: culture, timeout: \(timeout), retries: \(retries), unreachable_after: 2 }
    profiles:
      inc:
        temperature: { table: input, address: 0, type: float32, order: CDAB, unit: "°C" }
        co2: { table: input, address: 2, type: int16, scale: 0.01, unit: "%", invalid: [-32768] }
    specs:
      culture:
        co2: { low: 4.5, high: 5.5, delay: 500ms }
    """
}

@Suite("daemon against the simulator over loopback Modbus TCP", .serialized)
struct DaemonEndToEndTests {
    @Test("a door left open: stored readings, then excursion began (stamped with the first out-of-spec reading) and recovered in both logs")
    func scriptedExcursion() async throws {
        let harness = try Harness(
            config: config(),
            scenario: "events:\n  - { at: 60s, device: INC-02, event: door_open, for: 30s }\n")
        try await harness.startSim(speed: 30)
        try harness.startDaemon()
        try await eventually("recovery alert", timeout: .seconds(40)) {
            try harness.alertEvents().contains { $0.event == .excursionRecovered }
        }
        try await Task.sleep(for: .milliseconds(500))
        harness.daemon?.kill(SIGTERM)
        #expect(try await harness.daemon?.wait(timeout: .seconds(10)) == 0)

        let events = try harness.alertEvents()
        #expect(events.map(\.event) == [.excursionBegan, .excursionRecovered], "\(events)")
        #expect(events.allSatisfy { $0.device == "INC-02" && $0.channel == "co2" })
        let co2 = try harness.readings(device: "INC-02", channel: "co2")
        let firstOut = try #require(co2.first { ($0.value ?? 5) < 4.5 })
        let began = try #require(events.first)
        #expect(began.since.map(UTCTime.format) == UTCTime.format(firstOut.time), "began is stamped with the first out-of-spec reading")
        #expect(began.time.timeIntervalSince(firstOut.time) >= 0.5, "not before the 500 ms delay has passed")
        #expect(began.limit?.value == 4.5)
        let recovered = try #require(events.last)
        let firstBack = try #require(co2.first { $0.time > began.time && ($0.value ?? 0) >= 4.5 })
        #expect(UTCTime.format(recovered.time) == UTCTime.format(firstBack.time))
        #expect(recovered.worst == co2.compactMap(\.value).min())

        let lines = harness.alertLines()
        #expect(lines.count == 2)
        #expect(lines.first?.contains("excursion_began") == true)
        #expect(lines.first?.contains("INC-02 co2") == true)
        #expect(lines.first?.contains("since \(UTCTime.format(firstOut.time))") == true)
        #expect(lines.last?.contains("excursion_recovered") == true)

        // Every poll stored; only good readings, values near set point on the other incubator.
        let other = try harness.readings(device: "INC-01")
        #expect(other.count > 20)
        #expect(other.allSatisfy { $0.quality == .good })
        #expect(other.filter { $0.channel == "temperature" }.allSatisfy { abs($0.value! - 37) < 0.5 })
        #expect(co2.allSatisfy { $0.quality == .good && $0.value != nil })
    }

    @Test("a device that stops answering: timeout readings without values, unreachable, then back; its neighbour keeps polling")
    func silentDevice() async throws {
        let harness = try Harness(
            config: config(every: "300ms", timeout: "200ms"),
            scenario: "events:\n  - { at: 30s, device: INC-01, event: silent, for: 60s }\n")
        try await harness.startSim(speed: 30)
        try harness.startDaemon()
        try await eventually("device back", timeout: .seconds(30)) {
            try harness.alertEvents().contains { $0.event == .deviceBack }
        }
        harness.daemon?.kill(SIGTERM)
        #expect(try await harness.daemon?.wait(timeout: .seconds(10)) == 0)

        let events = try harness.alertEvents()
        #expect(events.map(\.event) == [.deviceUnreachable, .deviceBack], "\(events)")
        #expect(events.allSatisfy { $0.device == "INC-01" })
        let silent = try harness.readings(device: "INC-01").filter { $0.quality != .good }
        #expect(silent.count >= 4)
        // Polls that timed out, and the slots skipped in between while backing off: never a value.
        #expect(silent.allSatisfy { [.timeout, .skipped].contains($0.quality) && $0.value == nil })
        #expect(silent.first?.quality == .timeout)
        let unreachable = try #require(events.first)
        #expect(unreachable.since.map(UTCTime.format) == silent.first.map { UTCTime.format($0.time) }, "unreachable since the first failed poll")
        let neighbour = try harness.readings(device: "INC-02")
        #expect(neighbour.allSatisfy { $0.quality == .good })
        let during = neighbour.filter { $0.time > silent.first!.time && $0.time < silent.last!.time }
        #expect(during.count >= 4, "INC-02 polled on while INC-01 timed out")
    }

    @Test("SIGTERM during polling: every reading the daemon accepted is in the store")
    func sigtermLosesNothing() async throws {
        let harness = try Harness(config: config(every: "100ms"))
        try await harness.startSim()
        // As under systemd: the journal stream is set, so log lines carry syslog priorities.
        try harness.startDaemon(environment: ["JOURNAL_STREAM": "8:12345"])
        try await eventually("readings", timeout: .seconds(20)) { harness.daemon!.stdout.split(separator: "\n").count > 30 }
        harness.daemon?.kill(SIGTERM)
        #expect(try await harness.daemon?.wait(timeout: .seconds(10)) == 0)

        // Each printed line is one accepted poll: "TIME DEVICE channel=value unit ...".
        let printed = harness.daemon!.stdout.split(separator: "\n").map { $0.split(separator: " ") }
        #expect(printed.count > 30)
        var stored: Set<String> = []
        for device in ["INC-01", "INC-02"] {
            for reading in try harness.readings(device: device) {
                stored.insert("\(UTCTime.format(reading.time)) \(device) \(reading.channel)")
            }
        }
        var accepted: Set<String> = []
        for line in printed {
            for channel in line.dropFirst(2) where channel.contains("=") {
                accepted.insert("\(line[0]) \(line[1]) \(channel.split(separator: "=")[0])")
            }
        }
        #expect(accepted.subtracting(stored).sorted() == [], "accepted but not stored")
        #expect(stored.count == accepted.count)
        #expect(harness.daemon!.stderr.contains("<6>labgate stopped: \(accepted.count) readings written"))
        #expect(harness.daemon!.stderr.hasPrefix("<6>labgate started"))
    }

    @Test("the simulator restarts: the daemon reports the device unreachable, reconnects and polls on")
    func peerRestart() async throws {
        let harness = try Harness(config: config(every: "200ms"))
        try await harness.startSim()
        try harness.startDaemon()
        try await eventually("first readings", timeout: .seconds(20)) { harness.daemon!.stdout.contains("INC-02") }
        harness.sim?.kill(SIGKILL)
        _ = try await harness.sim?.wait(timeout: .seconds(5))
        try await eventually("unreachable", timeout: .seconds(20)) {
            try harness.alertEvents().filter { $0.event == .deviceUnreachable }.count == 2
        }
        try await harness.startSim()
        try await eventually("back", timeout: .seconds(20)) {
            try harness.alertEvents().filter { $0.event == .deviceBack }.count == 2
        }
        harness.daemon?.kill(SIGTERM)
        #expect(try await harness.daemon?.wait(timeout: .seconds(10)) == 0)
        let readings = try harness.readings(device: "INC-01")
        let lost = readings.filter { $0.quality != .good }
        #expect(!lost.isEmpty)
        #expect(lost.allSatisfy { $0.value == nil && [.disconnected, .timeout, .skipped].contains($0.quality) })
        let lastLost = try #require(lost.last)
        #expect(readings.contains { $0.quality == .good && $0.time > lastLost.time }, "polling resumed without a restart")
    }

    @Test("a device answering with an exception: quality flags and counters, never a value")
    func exceptionReplies() async throws {
        let harness = try Harness(
            config: config(),
            scenario: "events:\n  - { at: 0s, device: INC-01, event: exception, code: 2 }\n")
        try await harness.startSim()
        try harness.startDaemon()
        try await eventually("fault alerts", timeout: .seconds(20)) {
            try harness.alertEvents().filter { $0.event == .channelFault }.count == 2
        }
        try await Task.sleep(for: .milliseconds(500))
        harness.daemon?.kill(SIGTERM)
        #expect(try await harness.daemon?.wait(timeout: .seconds(10)) == 0)
        let readings = try harness.readings(device: "INC-01")
        #expect(!readings.isEmpty)
        #expect(readings.allSatisfy { $0.quality == .exception && $0.value == nil })
        #expect(readings.first?.detail == "exception 2 (illegal data address)")
        #expect(try harness.alertEvents().allSatisfy { $0.device == "INC-01" && $0.event == .channelFault })
        #expect(harness.daemon!.stderr.contains("× exception 2"), "the error counter is reported")
        #expect(try harness.readings(device: "INC-02").allSatisfy { $0.quality == .good })
    }
}
