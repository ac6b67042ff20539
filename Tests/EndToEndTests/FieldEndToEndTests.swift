import Foundation
import Glibc
import LabGate
import Testing

/// Modbus in the field, end to end: the real binary as simulator and daemon over loopback TCP.
@Suite("field quirks against the simulator over loopback Modbus TCP", .serialized)
struct FieldEndToEndTests {
    static let incubatorProfile = """
        profiles:
          inc:
            temperature: { table: input, address: 0, type: float32, order: CDAB, unit: "°C" }
            co2: { table: input, address: 2, type: int16, scale: 0.01, unit: "%", invalid: [-32768] }
        """

    func polls(_ harness: Harness, _ device: String) throws -> [(time: Date, qualities: Set<Quality>)] {
        try harness.polls(device: device)
    }

    @Test("a device busy every other request (exception 6): busy retried, every value stored, busy replies counted and shown by status")
    func busyRetried() async throws {
        let harness = try Harness(
            config: """
                site: e2e
                store: FOLDER/labgate.sqlite
                alerts: FOLDER
                buses:
                  - id: lan
                    tcp: { host: 127.0.0.1, port: PORT }
                devices:
                  - { id: INC-01, kind: incubator, bus: lan, unit: 1, profile: inc, every: 200ms, timeout: 300ms, busy_retries: 2, busy_wait: 20ms }
                  - { id: INC-02, kind: incubator, bus: lan, unit: 2, profile: inc, every: 200ms, timeout: 300ms }
                \(Self.incubatorProfile)
                """,
            scenario: "events:\n  - { at: 0s, device: INC-01, event: exception, code: 6, every: 2 }\n")
        try await harness.startSim()
        try harness.startDaemon()
        try await eventually("readings", timeout: .seconds(20)) { harness.daemon!.stdout.split(separator: "\n").count > 30 }
        // The daemon writes its status snapshot every 2 s; status reads it while the daemon runs.
        try await eventually("a status snapshot", timeout: .seconds(10)) {
            FileManager.default.fileExists(atPath: harness.storePath)
                && (try? DeviceStatusStore.fetchAll(from: ReadingStore(readingExisting: harness.storePath)))??.isEmpty == false
        }
        let running = try await harness.cli(["status", "--config", harness.configPath])
        #expect(running.status == 0, "\(running.err)")
        #expect(running.out.contains("INC-01  incubator  bus lan, unit 1  —  OK"), "\(running.out)")
        #expect(running.out.contains("exception 6 (server device busy) × "), "\(running.out)")
        harness.daemon?.kill(SIGTERM)
        #expect(try await harness.daemon?.wait(timeout: .seconds(10)) == 0)

        // Every poll got its values: the busy reply was asked again (only a poll cut short by the
        // shutdown may have given up waiting).
        let inc01 = try polls(harness, "INC-01")
        #expect(inc01.count > 10)
        #expect(inc01.dropLast().allSatisfy { $0.qualities == [.good] }, "\(inc01)")
        #expect(try harness.readings(device: "INC-02").allSatisfy { $0.quality == .good })

        // One busy reply and one good reply per poll, in the store's snapshot written at stop.
        let statuses = try #require(try DeviceStatusStore.fetchAll(from: ReadingStore(readingExisting: harness.storePath)))
        let status = try #require(statuses["INC-01"])
        let busy = status.transactions.exceptions[6] ?? 0
        #expect(busy >= inc01.count - 1 && busy <= status.transactions.ok + 1, "\(status.transactions)")
        #expect(status.transactions.ok >= inc01.count - 1)
        #expect(status.pollsAnswered == inc01.count)
        #expect(status.lastError == "exception 6 (server device busy)")
        #expect((status.latency?.count ?? 0) >= status.transactions.total - 1)
        #expect(statuses["INC-02"]?.transactions.exceptions.isEmpty == true)
        #expect(harness.daemon!.stderr.contains("× exception 6"))

        let stopped = try await harness.cli(["status", "--config", harness.configPath])
        #expect(stopped.status == 0)
        #expect(stopped.out.contains("reply time   p50 "), "\(stopped.out)")
        #expect(stopped.out.contains("polls        \(inc01.count) answered, 0 failed, 0 skipped"), "\(stopped.out)")
        let co2Line = try #require(stopped.out.split(separator: "\n").first { $0.hasPrefix("  co2 ") })
        let co2 = try #require(Double(co2Line.split(separator: " ")[1]))
        #expect(abs(co2 - 5) < 0.1 && co2Line.contains(" %  "), "\(co2Line)")
    }

    @Test("a silent device with a long timeout among fast ones: backoff keeps its cost down, the others keep ≥ 90 % of their polls")
    func faultIsolation() async throws {
        let fast = (1...3).map { "  - { id: FST-0\($0), kind: incubator, bus: lan, unit: \($0), profile: inc, every: 250ms, timeout: 300ms }" }
        let harness = try Harness(
            config: """
                site: e2e
                store: FOLDER/labgate.sqlite
                alerts: FOLDER
                buses:
                  - id: lan
                    tcp: { host: 127.0.0.1, port: PORT }
                devices:
                \(fast.joined(separator: "\n"))
                  - { id: DEAD-01, kind: incubator, bus: lan, unit: 9, profile: inc, every: 250ms, timeout: 500ms, retries: 0, unreachable_after: 1, backoff: { initial: 4s, max: 30s } }
                \(Self.incubatorProfile)
                """,
            scenario: "events:\n  - { at: 0s, device: DEAD-01, event: silent }\n")
        try await harness.startSim()
        try harness.startDaemon(extra: [])
        try await Task.sleep(for: .seconds(15))
        let running = try await harness.cli(["status", "--config", harness.configPath])
        harness.daemon?.kill(SIGTERM)
        #expect(try await harness.daemon?.wait(timeout: .seconds(10)) == 0)

        // Every slot of the dead device is in the store: a few probes that timed out, the rest skipped.
        let dead = try polls(harness, "DEAD-01")
        let probes = dead.filter { $0.qualities == [.timeout] }
        let skipped = dead.filter { $0.qualities == [.skipped] }
        #expect(probes.count + skipped.count == dead.count)
        #expect((2...5).contains(probes.count), "probes at about 0, 4 and 12 s: \(probes.map(\.time))")
        #expect(skipped.count > 30)
        let detail = try #require(try harness.readings(device: "DEAD-01").first { $0.quality == .skipped }?.detail)
        #expect(detail.hasPrefix("backoff after 1 failed poll; next try 20"), "\(detail)")

        for id in ["FST-01", "FST-02", "FST-03"] {
            let done = try polls(harness, id)
            let first = try #require(done.first?.time), last = try #require(done.last?.time)
            let scheduled = Int((last.timeIntervalSince(first) / 0.25).rounded()) + 1
            let kept = Double(done.count) / Double(scheduled)
            #expect(kept >= 0.9, "\(id): \(done.count) of \(scheduled) scheduled polls")
            #expect(done.allSatisfy { $0.qualities == [.good] })
        }

        #expect(running.out.contains("DEAD-01  incubator  bus lan, unit 9  —  UNREACHABLE: "), "\(running.out)")
        #expect(running.out.contains("backing off, next try in "), "\(running.out)")
        #expect(running.out.contains("FST-01  incubator  bus lan, unit 1  —  OK"), "\(running.out)")
        let events = try harness.alertEvents()
        #expect(events.map(\.event) == [.deviceUnreachable], "\(events)")
    }

    @Test("a gateway answering with protocol id 1 or another unit's reply: bad_response readings, no value stored, counted as bad replies")
    func misroutedReplies() async throws {
        let peer = try FakeModbusTCPPeer { _, request in
            switch request[6] {
            case 1: .init(FakeModbusTCPPeer.registers(answering: request, protocolID: 1))
            case 2: .init(FakeModbusTCPPeer.registers(answering: request, unit: 3))
            default: .init(FakeModbusTCPPeer.registers(answering: request))
            }
        }
        let harness = try Harness(
            config: """
                site: e2e
                store: FOLDER/labgate.sqlite
                alerts: FOLDER
                buses:
                  - id: gw
                    tcp: { host: 127.0.0.1, port: \(peer.port) }
                devices:
                  - { id: INC-01, kind: incubator, bus: gw, unit: 1, profile: inc, every: 200ms, timeout: 300ms }
                  - { id: INC-02, kind: incubator, bus: gw, unit: 2, profile: inc, every: 200ms, timeout: 300ms }
                  - { id: INC-03, kind: incubator, bus: gw, unit: 3, profile: inc, every: 200ms, timeout: 300ms }
                \(Self.incubatorProfile)
                """)
        try harness.startDaemon()
        try await eventually("readings of all three", timeout: .seconds(20)) {
            let lines = harness.daemon!.stdout.split(separator: "\n")
            return ["INC-01", "INC-02", "INC-03"].allSatisfy { id in lines.filter { $0.contains(" \(id) ") }.count >= 10 }
        }
        harness.daemon?.kill(SIGTERM)
        #expect(try await harness.daemon?.wait(timeout: .seconds(10)) == 0)

        let statuses = try #require(try DeviceStatusStore.fetchAll(from: ReadingStore(readingExisting: harness.storePath)))
        for (id, why) in [("INC-01", "protocol id 1"), ("INC-02", "unit 3")] {
            // Polled and found wrong, or skipped while the device backs off: never a value.
            let readings = try harness.readings(device: id)
            #expect(readings.count >= 10 && readings.allSatisfy { $0.value == nil }, "\(id): \(readings)")
            let bad = readings.filter { $0.quality == .badResponse }
            #expect(bad.count >= 4 && bad.count + readings.filter { $0.quality == .skipped }.count == readings.count)
            #expect(bad.allSatisfy { $0.detail?.contains(why) == true }, "\(id): \(bad.first?.detail ?? "")")
            let counted = try #require(statuses[id]?.transactions)
            #expect(counted.ok == 0 && counted.badResponse >= bad.count / 2, "\(id): \(counted)")
        }
        // Alerted as any other fault of the device's channels.
        let faults = try harness.alertEvents().filter { $0.event == .channelFault }
        #expect(Set(faults.map(\.device)) == ["INC-01", "INC-02"], "\(faults)")
        #expect(try harness.readings(device: "INC-03").allSatisfy { $0.quality == .good && $0.value != nil })
    }

    @Test("the shipped device profiles, loaded with profile_files, served by the simulator and polled")
    func shippedProfiles() async throws {
        let profiles = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("config/profiles").path
        let harness = try Harness(config: """
            site: e2e
            store: FOLDER/labgate.sqlite
            alerts: FOLDER
            buses:
              - id: lan
                tcp: { host: 127.0.0.1, port: PORT }
            devices:
              - { id: CO2-01, kind: incubator, bus: lan, unit: 240, profile: vaisala-gmp251, every: 300ms }
              - { id: HMP-01, kind: incubator, bus: lan, unit: 241, profile: vaisala-hmp, every: 300ms }
              - { id: ULT-01, kind: freezer, bus: lan, unit: 1, profile: thermo-ult-freezer, every: 300ms }
            profile_files:
              - \(profiles)/vaisala-gmp251.yaml
              - \(profiles)/vaisala-hmp.yaml
              - \(profiles)/thermo-ult-freezer.yaml
            """)
        let check = try await harness.cli(["check-config", harness.configPath])
        #expect(check.status == 0, "\(check.err)")
        #expect(check.out.contains("reads: holding 1228+22, holding 1328+14, holding 1649+1"), "\(check.out)")
        try await harness.startSim()
        try harness.startDaemon()
        try await eventually("readings of all three", timeout: .seconds(20)) {
            let lines = harness.daemon!.stdout.split(separator: "\n")
            return ["CO2-01", "HMP-01", "ULT-01"].allSatisfy { id in lines.filter { $0.contains(" \(id) ") }.count >= 4 }
        }
        harness.daemon?.kill(SIGTERM)
        #expect(try await harness.daemon?.wait(timeout: .seconds(10)) == 0)

        let co2 = try harness.readings(device: "CO2-01", channel: "co2")
        #expect(co2.allSatisfy { $0.quality == .good && abs($0.value! - 5) < 0.1 }, "ppm read, % stored: \(co2)")
        let rh = try harness.readings(device: "HMP-01", channel: "rh")
        #expect(rh.allSatisfy { $0.quality == .good && $0.value! > 80 })
        // The simulator, like a strict device, refuses reads that cover registers no field has:
        // the first poll splits the freezer's reads, every later poll is good.
        let freezer = try polls(harness, "ULT-01")
        #expect(freezer.count >= 4)
        #expect(freezer.dropFirst().allSatisfy { $0.qualities == [.good] }, "\(freezer)")
        #expect(harness.daemon!.stderr.contains("ULT-01: holding 1228+22 (tc2, tc3, tc4, tc5, tc6, tc7) answered exception 2"))
        let setpoint = try harness.readings(device: "ULT-01", channel: "cabinet_setpoint")
        #expect(setpoint.dropFirst().allSatisfy { $0.quality == .good && abs($0.value!) < 0.5 })
    }
}
