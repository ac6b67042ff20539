import Foundation
import Glibc
import LabGate
import LabGateDaemon
import Testing

/// Two incubators polled fast, a control socket in the test folder, and specs for lots.
/// `signatures`: the acts that need a signature (none here unless a test names them).
func lotConfig(
    operators: String = primaryGroup(), qa: String = primaryGroup(), separateDuties: Bool = true, signatures: String = ""
) -> String {
    """
    site: e2e-lots
    store: FOLDER/labgate.sqlite
    alerts: FOLDER
    control: FOLDER/control.sock
    roles: { operators: [\(operators)], qa: [\(qa)]\(separateDuties ? "" : ", separate_duties: false") }
    signatures: { require: [\(signatures)] }
    buses:
      - id: lan
        tcp: { host: 127.0.0.1, port: PORT }
    devices:
      - { id: INC-01, kind: incubator, bus: lan, unit: 1, profile: inc, every: 200ms, timeout: 300ms, retries: 0 }
      - { id: INC-02, kind: incubator, bus: lan, unit: 2, profile: inc, every: 200ms, timeout: 300ms, retries: 0 }
    profiles:
      inc:
        temperature: { table: input, address: 0, type: float32, order: CDAB, unit: "°C" }
        co2: { table: input, address: 2, type: int16, scale: 0.01, unit: "%", invalid: [-32768] }
    specs:
      tight:
        co2: { low: 4.5, high: 5.5, delay: 1s }
      loose:
        co2: { low: 1.0, high: 8.0, delay: 1s }
      slow:
        co2: { low: 4.5, high: 5.5, delay: 5s }
      watched:
        co2: { low: 4.5, high: 5.5, delay: 1s, max_gap: 2s }
    """
}

extension Harness {
    /// Runs a control command with this harness's config; fails the test unless it exits 0.
    @discardableResult
    func control(_ arguments: [String], expect status: Int32 = 0) async throws -> (out: String, err: String) {
        let result = try await cli(arguments + ["--config", configPath])
        #expect(result.status == status, "labgate \(arguments.joined(separator: " ")): \(result.err)")
        return (result.out, result.err)
    }

    func waitForSocket() async throws {
        let path = folder + "/control.sock"
        try await eventually("control socket", timeout: .seconds(20)) { UnixSocketAddress.isListening(path) }
    }

    func deviations() async throws -> [DeviationRecord] {
        try await DeviationBook(store: ReadingStore(readingExisting: storePath), daemonUser: "").list()
    }

    func deviationEvents() throws -> [AlertEvent] {
        try alertEvents().filter { $0.deviation != nil }
    }

    func stopDaemon() async throws {
        daemon?.kill(SIGTERM)
        #expect(try await daemon?.wait(timeout: .seconds(15)) == 0)
    }
}

private func ms(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }

@Suite("lots and deviations against the simulator", .serialized)
struct LotEndToEndTests {
    @Test("a lot through a CO2 excursion: exactly one deviation naming it, with the right start, end and worst value")
    func excursionNamesTheLot() async throws {
        let harness = try Harness(
            config: lotConfig(), scenario: "events:\n  - { at: 150s, device: INC-02, event: door_open, for: 30s }\n")
        try await harness.startSim(speed: 30)
        try harness.startDaemon()
        try await harness.waitForSocket()
        let started = try await harness.control(["lot", "start", "MSC-AT-0042", "--device", "INC-02", "--spec", "tight", "--note", "P3 after thaw"])
        #expect(started.out.contains("MSC-AT-0042  in INC-02 with spec tight"))
        try await eventually("recovery", timeout: .seconds(60)) {
            try harness.deviationEvents().contains { $0.event == .deviationRecovered }
        }
        try await harness.stopDaemon()

        let deviations = try await harness.deviations()
        #expect(deviations.count == 1, "\(deviations)")
        let deviation = try #require(deviations.first)
        #expect(deviation.lots == ["MSC-AT-0042"])
        #expect(deviation.device == "INC-02" && deviation.channel == "co2")
        #expect(deviation.limit == .init(name: "low", value: 4.5, source: "spec tight"))
        let co2 = try harness.readings(device: "INC-02", channel: "co2")
        let firstOut = try #require(co2.first { ($0.value ?? 5) < 4.5 })
        let firstBack = try #require(co2.first { $0.time > firstOut.time && ($0.value ?? 0) >= 4.5 })
        #expect(deviation.start == ms(firstOut.time), "start: the first out-of-spec reading")
        #expect(deviation.end == ms(firstBack.time), "end: the first reading back within spec")
        let during = co2.filter { $0.time >= firstOut.time && $0.time < firstBack.time }.compactMap(\.value)
        #expect(deviation.worst == during.min())
        #expect(deviation.opened - deviation.start >= 1000, "opened once the 1 s delay had passed")
        #expect(deviation.state == .recovered)
        #expect(try harness.readings(device: "INC-02").filter { $0.time >= firstOut.time }.allSatisfy { $0.lots == ["MSC-AT-0042"] })
        #expect(try harness.readings(device: "INC-01").allSatisfy { $0.lots.isEmpty })
        let csv = try await harness.cli(["readings", "--config", harness.configPath, "--device", "INC-02", "--format", "csv"])
        #expect(csv.out.split(separator: "\n").last?.hasSuffix(",good,,MSC-AT-0042") == true, "readings show their lots")

        let events = try harness.deviationEvents()
        #expect(events.map(\.event) == [.deviationOpened, .deviationRecovered])
        #expect(events.allSatisfy { $0.lots == ["MSC-AT-0042"] && $0.deviation == deviation.id })
        let lines = harness.alertLines().filter { $0.contains(deviation.id) }
        #expect(lines.count == 2)
        #expect(lines.allSatisfy { $0.contains("lots MSC-AT-0042") })
    }

    @Test("two specs in one device: the tightest applies and only the lot it broke is named; a lot moved in during the excursion joins it, one ended before does not")
    func lotsAndSpecs() async throws {
        let harness = try Harness(
            config: lotConfig(), scenario: "events:\n  - { at: 150s, device: INC-02, event: door_open, for: 60s }\n")
        try await harness.startSim(speed: 30)
        try harness.startDaemon()
        try await harness.waitForSocket()
        try await harness.control(["lot", "start", "LOT-A", "--device", "INC-02", "--spec", "tight"])
        try await harness.control(["lot", "start", "LOT-B", "--device", "INC-02", "--spec", "loose"])
        try await harness.control(["lot", "start", "LOT-C", "--device", "INC-02", "--spec", "tight"])
        try await harness.control(["lot", "start", "LOT-D", "--device", "INC-01", "--spec", "tight"])
        try await harness.control(["lot", "end", "LOT-C", "--note", "harvested"])
        try await eventually("deviation opened", timeout: .seconds(60)) {
            try harness.deviationEvents().contains { $0.event == .deviationOpened }
        }
        let moved = try await harness.control(["lot", "move", "LOT-D", "--device", "INC-02"])
        #expect(moved.out.contains("LOT-D  in INC-02 with spec tight"))
        let id = try #require(try harness.deviationEvents().first?.deviation)
        let live = try await harness.control(["deviations", "show", id])
        if live.out.hasPrefix("\(id)  open") {
            #expect(live.out.contains("(so far)"), "an open deviation shows its running worst value: \(live.out)")
        }
        try await eventually("recovery", timeout: .seconds(60)) {
            try harness.deviationEvents().contains { $0.event == .deviationRecovered }
        }
        let shown = try await harness.control(["lot", "show", "LOT-D"])
        #expect(shown.out.contains("INC-01  spec tight"))
        #expect(shown.out.contains("INC-02  spec tight"))
        let listed = try await harness.control(["lot", "list"])
        #expect(listed.out.contains("LOT-C") && listed.out.contains("ended"))
        try await harness.stopDaemon()

        let deviations = try await harness.deviations()
        #expect(deviations.count == 1, "\(deviations)")
        let deviation = try #require(deviations.first)
        #expect(deviation.lots == ["LOT-A", "LOT-D"])
        #expect(deviation.limit.value == 4.5, "the tightest spec's limit")
        #expect(try harness.readings(device: "INC-02", channel: "co2").compactMap(\.value).min()! > 1.0, "the loose spec was never broken")
        let events = try harness.deviationEvents()
        #expect(events.map(\.event) == [.deviationOpened, .deviationLotsAdded, .deviationRecovered])
        #expect(events.first?.lots == ["LOT-A"])
        #expect(events[1].lots == ["LOT-D"])
        #expect(events.last?.lots == ["LOT-A", "LOT-D"])
    }

    @Test("a device that goes silent with a lot inside: a data-gap deviation from the last valid reading to the next")
    func dataGap() async throws {
        let harness = try Harness(
            config: lotConfig(), scenario: "events:\n  - { at: 150s, device: INC-01, event: silent, for: 120s }\n")
        try await harness.startSim(speed: 30)
        try harness.startDaemon()
        try await harness.waitForSocket()
        try await harness.control(["lot", "start", "LOT-G", "--device", "INC-01", "--spec", "watched"])
        try await eventually("gap recovered", timeout: .seconds(60)) {
            try harness.deviationEvents().contains { $0.event == .deviationRecovered }
        }
        try await harness.stopDaemon()
        let deviations = try await harness.deviations()
        #expect(deviations.count == 1, "\(deviations)")
        let gap = try #require(deviations.first)
        #expect(gap.kind == .dataGap)
        #expect(gap.lots == ["LOT-G"])
        #expect(gap.channel == "co2")
        #expect(gap.limit.name == "max_gap" && gap.limit.value == 2)
        let co2 = try harness.readings(device: "INC-01", channel: "co2")
        let firstSilent = try #require(co2.firstIndex { $0.quality == .timeout })
        let lastGood = co2[..<firstSilent].last { $0.quality == .good }
        let nextGood = co2[firstSilent...].first { $0.quality == .good }
        #expect(gap.start == lastGood.map { ms($0.time) })
        #expect(gap.end == nextGood.map { ms($0.time) })
        #expect(gap.opened - gap.start >= 2000)
        let opened = try #require(harness.alertLines().first { $0.contains("deviation_opened") })
        #expect(opened.contains("no valid reading for longer than max_gap 2s (spec watched)"))
        #expect(opened.contains("lots LOT-G"))
    }

    @Test("a restart in the middle of a delay: the delay still counts from the first out-of-spec reading")
    func restartDuringDelay() async throws {
        let harness = try Harness(
            config: lotConfig(), scenario: "events:\n  - { at: 150s, device: INC-02, event: door_open, for: 150s }\n")
        try await harness.startSim(speed: 30)
        try harness.startDaemon()
        try await harness.waitForSocket()
        try await harness.control(["lot", "start", "LOT-R", "--device", "INC-02", "--spec", "slow"])
        try await eventually("first out-of-spec reading stored", timeout: .seconds(60)) {
            try harness.readings(device: "INC-02", channel: "co2").contains { ($0.value ?? 5) < 4.5 }
        }
        try await harness.stopDaemon()
        let restarted = Date()
        try harness.startDaemon()
        try await eventually("deviation opened", timeout: .seconds(30)) {
            try harness.deviationEvents().contains { $0.event == .deviationOpened }
        }
        try await harness.stopDaemon()
        let deviations = try await harness.deviations()
        #expect(deviations.count == 1)
        let deviation = try #require(deviations.first)
        let firstOut = try #require(try harness.readings(device: "INC-02", channel: "co2").first { ($0.value ?? 5) < 4.5 })
        #expect(deviation.start == ms(firstOut.time), "stamped with the first out-of-spec reading, from before the restart")
        #expect(deviation.opened - deviation.start >= 5000)
        #expect(deviation.opened - deviation.start < 9000, "opened when the delay ran out, not a whole delay after the restart")
        #expect(Double(deviation.opened - ms(restarted)) < 4500, "the delay was not restarted")
        #expect(deviation.lots == ["LOT-R"])
    }

    @Test("kill -9 with an open deviation: after the restart it goes on under the same id and recovers once")
    func killWithOpenDeviation() async throws {
        let harness = try Harness(
            config: lotConfig(), scenario: "events:\n  - { at: 150s, device: INC-02, event: door_open, for: 90s }\n")
        try await harness.startSim(speed: 30)
        try harness.startDaemon()
        try await harness.waitForSocket()
        try await harness.control(["lot", "start", "LOT-K", "--device", "INC-02", "--spec", "tight"])
        try await eventually("deviation opened", timeout: .seconds(60)) {
            try harness.deviationEvents().contains { $0.event == .deviationOpened }
        }
        // Alerted at once, stored just after: the kill comes once the store has it.
        try await eventuallyAsync("deviation stored", timeout: .seconds(10)) { try await !harness.deviations().isEmpty }
        harness.daemon?.kill(SIGKILL)
        _ = try await harness.daemon?.wait(timeout: .seconds(10))
        try harness.startDaemon()
        try await eventually("recovery", timeout: .seconds(60)) {
            try harness.deviationEvents().contains { $0.event == .deviationRecovered }
        }
        try await harness.waitForSocket()
        let listed = try await harness.control(["deviations", "list", "--open"])
        try await harness.stopDaemon()

        let deviations = try await harness.deviations()
        #expect(deviations.count == 1, "\(deviations)")
        let deviation = try #require(deviations.first)
        #expect(deviation.end != nil)
        #expect(deviation.lots == ["LOT-K"])
        #expect(listed.out.contains(deviation.id))
        let events = try harness.deviationEvents()
        #expect(events.map(\.event) == [.deviationOpened, .deviationRecovered])
        #expect(Set(events.compactMap(\.deviation)) == [deviation.id])
        let verify = try await harness.cli(["audit", "verify", "--store", harness.storePath])
        #expect(verify.status == 0, "\(verify.out)")
    }

    @Test("audit verify catches an edited reading, a deleted deviation and an edited audit entry (sqlite3 shell)")
    func tamperEvident() async throws {
        // One user acknowledges and closes: the site has turned separation of duties off.
        let harness = try Harness(
            config: lotConfig(separateDuties: false), scenario: "events:\n  - { at: 150s, device: INC-02, event: door_open, for: 30s }\n")
        try await harness.startSim(speed: 30)
        try harness.startDaemon()
        try await harness.waitForSocket()
        try await harness.control(["lot", "start", "LOT-T", "--device", "INC-02", "--spec", "tight"])
        try await eventually("recovery", timeout: .seconds(60)) {
            try harness.deviationEvents().contains { $0.event == .deviationRecovered }
        }
        let id = try #require(try harness.deviationEvents().first?.deviation)
        try await harness.control(["deviations", "ack", id, "--comment", "door left open during feeding"])
        try await harness.control(["deviations", "close", id, "--impact", "none: within validated recovery"])
        let online = try await harness.control(["audit", "verify"])
        #expect(online.out.hasPrefix("OK: the record is intact"))
        try await harness.stopDaemon()
        #expect(try await harness.cli(["audit", "verify", "--store", harness.storePath]).status == 0)

        let dropTriggers = "SELECT 1;" + ["audit_append_only_update", "audit_append_only_delete", "reading_sealed_update",
            "deviation_no_delete"].map { " DROP TRIGGER \($0);" }.joined()
        let cases = [
            ("UPDATE reading SET value = value + 0.5 WHERE rowid = (SELECT MAX(rowid) FROM reading WHERE value IS NOT NULL);",
             "BROKEN: readings of seal "),
            ("DELETE FROM deviation WHERE id = '\(id)';", "BROKEN: deviation \(id) is missing (deleted)"),
            ("UPDATE audit SET reason = 'no impact' WHERE action = 'deviation_closed';", "BROKEN: audit entry "),
        ]
        for (index, (sql, expected)) in cases.enumerated() {
            let copy = harness.folder + "/tampered-\(index).sqlite"
            try FileManager.default.copyItem(atPath: harness.storePath, toPath: copy)
            let edit = try runCommand("sqlite3", [copy, dropTriggers + " " + sql])
            #expect(edit.status == 0, "\(edit.err)")
            let verify = try await harness.cli(["audit", "verify", "--store", copy])
            #expect(verify.status == 4, "\(sql)")
            #expect(verify.out.hasPrefix(expected), "\(sql): \(verify.out)")
        }
        let edited = try await harness.cli(["audit", "verify", "--store", harness.folder + "/tampered-2.sqlite"])
        #expect(edited.out.contains("(deviation_closed deviation \(id)"))
        #expect(edited.out.contains("was changed"))
    }

    @Test("a user outside the operator group is refused with a clear error, and the refusal is audited by route and body digest; a stopped daemon is named as such")
    func refusedAndAudited() async throws {
        let harness = try Harness(config: lotConfig(operators: "labgate-e2e-nobody"))
        try harness.startDaemon()
        try await harness.waitForSocket()
        let who = try await harness.control(["whoami"])
        #expect(who.out.contains("roles: qa"))
        let refused = try await harness.control(["lot", "start", "LOT-X", "--device", "INC-01", "--spec", "tight"], expect: 3)
        let user = SystemIdentityResolver.currentUser
        #expect(refused.err == "refused: user \(user) may not lot start: that needs the operator role (groups: labgate-e2e-nobody)\n")
        let audit = try await harness.control(["audit", "list", "--object", "uid \(geteuid())"])
        #expect(audit.out.contains("\(user)  refused  uid \(geteuid())  — user \(user) may not lot start"))
        #expect(audit.out.contains(#""routes":{"POST /lots":1}"#), "the route is recorded: \(audit.out)")
        #expect(audit.out.contains(#""sha256":""#) && !audit.out.contains("LOT-X"), "the body's digest, never the body: \(audit.out)")
        let lots = try await harness.control(["lot", "list"])
        #expect(lots.out == "no lots\n")
        try await harness.stopDaemon()
        let down = try await harness.control(["lot", "list"], expect: 2)
        #expect(down.err.hasPrefix("labgate is not running: nothing answers on its control socket \(harness.folder)/control.sock"))
    }
}
