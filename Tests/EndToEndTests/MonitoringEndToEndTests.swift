import Foundation
import Glibc
import LabGate
import Testing

/// libfaketime as Debian ships it (`scripts/deps --test` installs it).
private let libfaketime = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"

private func ms(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }

/// Runs a tool and returns its standard output.
private func shell(_ tool: String, _ arguments: [String]) throws -> String {
    try runCommand(tool, arguments).out
}

extension Harness {
    /// INC-02's co2 readings in the order they were stored: time, value and lots.
    func storedCO2(device: String = "INC-02") throws -> [(time: Int64, value: Double?, lots: String)] {
        let sql = """
            SELECT r.time, coalesce(r.value, ''), coalesce(l.lots, '') FROM reading r JOIN series s ON s.id = r.series
            LEFT JOIN lot_set l ON l.id = r.lot_set WHERE s.device = '\(device)' AND s.channel = 'co2' ORDER BY r.rowid
            """
        return try shell("/usr/bin/sqlite3", ["-separator", "|", storePath, sql]).split(separator: "\n").map { line in
            let parts = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            return (Int64(parts[0]) ?? 0, Double(parts[1]), parts[2])
        }
    }

    /// Waits until an alert line containing `text` appears; how long that took from now.
    func waitForAlertLine(_ text: String, count: Int = 1, timeout: Duration = .seconds(20)) async throws -> Duration {
        let clock = ContinuousClock()
        let start = clock.now
        try await eventually("\(count) alert line(s) with \(text)", timeout: timeout, interval: .milliseconds(20)) {
            self.alertLines().filter { $0.contains(text) }.count >= count
        }
        return clock.now - start
    }
}

@Suite("monitoring of a lot never stops silently", .serialized)
struct MonitoringEndToEndTests {
    @Test("a device dead through an excursion: the lot's deviation opens on the engine's tick once the delay has passed, and a data gap follows at the default max_gap")
    func deadDeviceMidExcursion() async throws {
        // The door opens at 5 s (co2 below 4.5 % about 6.4 s later), the device falls silent at 13 s.
        let harness = try Harness(config: lotConfig(), scenario: """
            events:
              - { at: 5s, device: INC-02, event: door_open, for: 10m }
              - { at: 13s, device: INC-02, event: silent, for: 10m }
            """)
        try await harness.startSim()
        try harness.startDaemon()
        try await harness.waitForSocket()
        // spec slow: below 4.5 for 5 s; no max_gap, so the default: 3 × 200 ms + 5 s.
        try await harness.control(["lot", "start", "LOT-D", "--device", "INC-02", "--spec", "slow"])
        try await eventually("the excursion's deviation and the data gap", timeout: .seconds(40)) {
            harness.alertLines().filter { $0.contains("deviation_opened") }.count >= 2
        }
        try await harness.stopDaemon()

        let co2 = try harness.storedCO2()
        let firstOut = try #require(co2.first { ($0.value ?? 5) < 4.5 })
        let lastGood = try #require(co2.last { $0.value != nil })
        #expect(lastGood.value! < 4.5, "the device died during the excursion")
        let deviations = try await harness.deviations()
        let excursion = try #require(deviations.first { $0.kind == .excursion })
        #expect(excursion.lots == ["LOT-D"] && excursion.start == firstOut.time)
        #expect(excursion.valueAtOpening == lastGood.value, "opened with the last value read")
        let due = firstOut.time + 5000
        #expect(excursion.opened >= due && excursion.opened > lastGood.time, "opened on a tick, after the last reading")
        let excursionDelay = excursion.opened - due
        #expect(excursionDelay <= 1500, "opened \(excursionDelay) ms after it was due")
        let gap = try #require(deviations.first { $0.kind == .dataGap })
        #expect(gap.limit == .init(name: "max_gap", value: 5.6, source: "default: 3 × every + delay"))
        #expect(gap.lots == ["LOT-D"] && gap.start == lastGood.time)
        let gapDelay = gap.opened - (lastGood.time + 5600)
        #expect(gapDelay >= 0 && gapDelay <= 1500, "data gap opened \(gapDelay) ms after max_gap")
        let lines = harness.alertLines().filter { $0.contains("deviation_opened") }
        #expect(lines.count == 2 && lines.allSatisfy { $0.contains("lots LOT-D") })
        print("FAULTS dead device: deviation opened \(excursionDelay) ms after due, data gap \(gapDelay) ms after max_gap")
    }

    @Test("a reload that removes the device a lot is inside is refused, naming the lot and what to do; monitoring goes on, and once the lot is ended the same config loads")
    func reloadRemovingDeviceWithLotRefused() async throws {
        let harness = try Harness(config: lotConfig())
        try await harness.startSim()
        try harness.startDaemon(extra: [])
        try await harness.waitForSocket()
        try await harness.control(["lot", "start", "LOT-R", "--device", "INC-02", "--spec", "tight"])
        let good = try String(contentsOfFile: harness.configPath, encoding: .utf8)
        let without = good.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.contains("id: INC-02") }
            .joined(separator: "\n")
        try without.write(toFile: harness.configPath, atomically: true, encoding: .utf8)
        harness.daemon?.kill(SIGHUP)
        let refusalDelay = try await harness.waitForAlertLine("config_refused")
        let refusedAt = ms(Date())
        try await Task.sleep(for: .seconds(2))
        let line = try #require(harness.alertLines().first { $0.contains("config_refused") })
        #expect(line.contains("lot LOT-R is inside INC-02, which the new config no longer has"))
        #expect(line.contains("labgate lot end LOT-R"))
        #expect(harness.daemon?.isRunning == true)
        let after = try harness.storedCO2().filter { $0.time > refusedAt }
        #expect(after.count >= 5 && after.allSatisfy { $0.lots == "LOT-R" && $0.value != nil }, "INC-02 still polled, the lot still tagged")
        #expect(harness.daemon!.stderr.contains("refused, still running the previous one: monitoring would stop for what it removes"))
        let audit = try shell("/usr/bin/sqlite3", [harness.storePath, "SELECT new FROM audit WHERE action = 'config_refused'"])
        #expect(audit.contains("lot LOT-R is inside INC-02"))

        try await harness.control(["lot", "end", "LOT-R"])
        harness.daemon?.kill(SIGHUP)
        try await eventually("the reload", timeout: .seconds(20)) { harness.daemon!.stderr.contains("reloaded: 1 devices on 1 buses") }
        try await harness.stopDaemon()
        print("FAULTS reload removing a device with a lot inside: refused, alerted \(refusalDelay) after SIGHUP")
    }

    @Test("the wall clock stepped back and forward by an hour under a running daemon (libfaketime): both steps audited and alerted, no reading lost, the lot stays tagged, one deviation with a positive size, the report names the steps",
          .enabled(if: FileManager.default.fileExists(atPath: libfaketime), "needs Debian's faketime (scripts/deps --test)"))
    func wallClockSteps() async throws {
        // At 10 × speed: the door opens 10 s after the simulator starts, for 2 s; co2 is below
        // 4.5 % from about 10.6 s to 21 s.
        let harness = try Harness(config: lotConfig(), scenario: """
            events:
              - { at: 100s, device: INC-02, event: door_open, for: 20s }
            """)
        // The daemon's wall clock is libfaketime's offset, read from this file at every call
        // (FAKETIME_NO_CACHE), rewritten in place (libfaketime missed a renamed file here). It
        // starts an hour ahead, steps back to the real time, then forward again: libfaketime
        // 0.9.10 also moves the absolute timerfd deadlines libdispatch arms by its offset, so an
        // offset below the one a timer was armed under would stall every sleep of the process
        // for an hour; from above, the deadlines only come early and are re-armed.
        let offsetFile = harness.folder + "/faketime"
        func setOffset(_ offset: String) throws {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: offsetFile))
            try handle.truncate(atOffset: 0)
            try handle.write(contentsOf: Data((offset + "\n").utf8))
            try handle.close()
        }
        _ = FileManager.default.createFile(atPath: offsetFile, contents: Data("+1h\n".utf8))
        try await harness.startSim(speed: 10)
        // libfaketime leaves a Swift program no argv: the daemon takes its config from LABGATE_CONFIG.
        try harness.startDaemon(arguments: [], environment: [
            "LD_PRELOAD": libfaketime, "FAKETIME_TIMESTAMP_FILE": offsetFile, "FAKETIME_NO_CACHE": "1",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1", "LABGATE_CONFIG": harness.configPath,
        ])
        try await harness.waitForSocket()
        try await harness.control(["lot", "start", "LOT-A", "--device", "INC-02", "--spec", "tight"])
        let lotStart = try #require(Int64(try shell("/usr/bin/sqlite3", [harness.storePath, "SELECT time FROM lot_event WHERE lot = 'LOT-A'"])
            .trimmingCharacters(in: .whitespacesAndNewlines)))
        try await eventually("co2 below spec", timeout: .seconds(40)) {
            try harness.storedCO2().contains { ($0.value ?? 5) < 4.5 }
        }
        try setOffset("+0")
        let backDelay = try await harness.waitForAlertLine("clock_stepped")
        try await Task.sleep(for: .seconds(3))
        try setOffset("+1h")
        let forwardDelay = try await harness.waitForAlertLine("clock_stepped", count: 2)
        try await eventually("the deviation's recovery", timeout: .seconds(60)) {
            try harness.deviationEvents().contains { $0.event == .deviationRecovered }
        }
        try await Task.sleep(for: .seconds(1))
        try await harness.stopDaemon()

        // Both steps audited with both times, and alerted.
        let audited = try shell("/usr/bin/sqlite3", [harness.storePath, "SELECT new FROM audit WHERE action = 'clock_stepped' ORDER BY seq"])
            .split(separator: "\n").map { try AuditJSON.decode(ClockStep.self, String($0)) }
        #expect(audited.count == 2)
        #expect(audited.first.map { abs($0.step + 3_600_000) < 3000 } == true, "\(audited)")
        #expect(audited.last.map { abs($0.step - 3_600_000) < 3000 } == true, "\(audited)")
        let alerts = harness.alertLines().filter { $0.contains("clock_stepped") }
        #expect(alerts.first?.contains("wall clock stepped back by") == true && alerts.last?.contains("stepped forward by") == true)

        // No reading lost: in the order stored, INC-02's co2 comes every 200 ms but for the two steps.
        let co2 = try harness.storedCO2()
        let spacing = zip(co2, co2.dropFirst()).map { $1.time - $0.time }
        let jumps = spacing.filter { abs($0) > 1500 }
        #expect(jumps.count == 2 && jumps.first.map { abs($0 + 3_600_000) < 3000 } == true, "\(jumps)")
        #expect(spacing.filter { $0 < 0 && $0 > -3_000_000 }.isEmpty, "time goes back only with the step")
        #expect(co2.allSatisfy { $0.value != nil })
        // The lot stays inside: every reading from its first tagged one on carries it, those
        // stamped before its start by the stepped clock too.
        let tagged = try #require(co2.firstIndex { $0.lots == "LOT-A" })
        #expect(co2[tagged...].allSatisfy { $0.lots == "LOT-A" })
        #expect(co2[tagged...].contains { $0.time < lotStart }, "readings stamped an hour back still carry the lot")

        // One deviation for the excursion, its size positive.
        let deviations = try await harness.deviations()
        #expect(deviations.count == 1, "\(deviations)")
        let deviation = try #require(deviations.first)
        #expect(deviation.lots == ["LOT-A"] && deviation.state == .recovered)
        #expect((deviation.size ?? -1) > 0 && (deviation.worst ?? 5) < 4.5)

        // The lot's report names both steps.
        let json = try await harness.cli(["report", "lot", "LOT-A", "--store", harness.storePath, "--format", "json"])
        #expect(json.status == 0, "\(json.err)")
        let report = try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any]
        #expect((report?["clockSteps"] as? [Any])?.count == 2)
        let html = try await harness.cli(["report", "lot", "LOT-A", "--store", harness.storePath, "--format", "html"])
        #expect(html.out.contains("Wall-clock steps during the lot (2)") && html.out.contains("wall clock stepped back by"))
        print("FAULTS clock steps: back alerted after \(backDelay), forward after \(forwardDelay); \(co2.count) readings, 0 lost")
    }
}
