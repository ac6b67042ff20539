import Foundation
import Glibc
import LabGate
import Testing

/// A small tmpfs the test mounts (root only), so the store's disk really fills up.
final class SmallFilesystem {
    let path: String

    init(at path: String, size: String) throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", path]) == 0 else {
            throw HarnessError("cannot mount a tmpfs at \(path)")
        }
    }

    deinit { _ = Self.run("/bin/umount", ["-l", path]) }

    /// Fills every free byte with a file; returns its path (delete it to give the space back).
    func fill() throws -> String {
        let filler = path + "/filler"
        let fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw HarnessError("cannot create \(filler)") }
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0, count: 4096)
        while chunk.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
        return filler
    }

    static func run(_ tool: String, _ arguments: [String]) -> Int32 {
        (try? runCommand(tool, arguments))?.status ?? -1
    }

    /// Whether this test run may mount filesystems (root, with mount available).
    static let available: Bool = {
        guard getuid() == 0, let probe = try? TemporaryFolder("labgate-mount-probe") else { return false }
        // Unmounted as soon as made, before the folder goes.
        return (try? SmallFilesystem(at: probe.file("fs"), size: "64k")) != nil
    }()
}

private func config(buffer: Int? = nil) -> String {
    """
    site: e2e-full
    store: FOLDER/full/labgate.sqlite
    alerts: FOLDER
    control: FOLDER/control.sock
    roles: { operators: [\(primaryGroup())], qa: [\(primaryGroup())] }
    \(buffer.map { "store_buffer: \($0)" } ?? "")
    buses:
      - id: lan
        tcp: { host: 127.0.0.1, port: PORT }
    devices:
      - { id: INC-01, kind: incubator, bus: lan, unit: 1, profile: inc, every: 100ms }
      - { id: INC-02, kind: incubator, bus: lan, unit: 2, profile: inc, every: 100ms }
    profiles:
      inc:
        temperature: { table: input, address: 0, type: float32, order: CDAB, unit: "°C" }
        co2: { table: input, address: 2, type: int16, scale: 0.01, unit: "%", invalid: [-32768] }
    """
}

@Suite("a store on a full disk", .serialized, .enabled(if: SmallFilesystem.available, "needs root to mount a small tmpfs"))
struct DiskFullEndToEndTests {
    /// Runs the daemon with its store on a 2 MB tmpfs, fills the disk, waits, frees it again.
    private func runThroughFullDisk(_ harness: Harness, fullFor seconds: Double) async throws -> SmallFilesystem {
        let disk = try SmallFilesystem(at: harness.folder + "/full", size: "2m")
        harness.storePath = harness.folder + "/full/labgate.sqlite"
        try await harness.startSim()
        try harness.startDaemon()
        do {
            try await eventually("first readings", timeout: .seconds(20)) { ((try? harness.readings(device: "INC-01"))?.count ?? 0) > 10 }
        } catch {
            throw HarnessError("\(error): \(harness.daemon?.stderr.suffix(2000) ?? "")")
        }
        let filler = try disk.fill()
        try await eventually("store_failing", timeout: .seconds(20)) { harness.alertLines().contains { $0.contains("store_failing") } }
        try await Task.sleep(for: .seconds(seconds))
        try FileManager.default.removeItem(atPath: filler)
        try await eventually("store_recovered", timeout: .seconds(20)) { harness.alertLines().contains { $0.contains("store_recovered") } }
        return disk
    }

    @Test("the disk fills: polling goes on, readings wait in memory, a critical alert says so, and all are written once space returns")
    func bufferedAndWrittenLater() async throws {
        let harness = try Harness(config: config())
        let disk = try await runThroughFullDisk(harness, fullFor: 2)
        try await Task.sleep(for: .milliseconds(500))
        harness.daemon?.kill(SIGTERM)
        #expect(try await harness.daemon?.wait(timeout: .seconds(10)) == 0)
        _ = disk

        let failing = try #require(harness.alertLines().first { $0.contains("store_failing") })
        #expect(failing.contains("CRITICAL"))
        #expect(failing.contains("cannot write \(harness.folder)/full/labgate.sqlite"))
        let recovered = try #require(harness.alertLines().first { $0.contains("store_recovered") })
        #expect(recovered.contains("nothing lost"))
        #expect(harness.daemon!.stderr.contains("CRITICAL store_failing"))

        // Every poll the daemon accepted — before, during and after the full disk — is stored.
        var stored: Set<String> = []
        for device in ["INC-01", "INC-02"] {
            for reading in try harness.readings(device: device) { stored.insert("\(UTCTime.format(reading.time)) \(device)") }
        }
        let printed = Set(harness.daemon!.stdout.split(separator: "\n").map { $0.split(separator: " ").prefix(2).joined(separator: " ") })
        #expect(printed.count > 60)
        #expect(printed.subtracting(stored).sorted() == [])
        let check = try await harness.cli(["audit", "verify", "--store", harness.storePath])
        #expect(check.status == 0, "\(check.out) \(check.err)")
    }

    @Test("the memory buffer overflows: the oldest readings are dropped and each series' lost interval is audited, never silent")
    func overflowRecordedAsGap() async throws {
        let harness = try Harness(config: config(buffer: 20))
        let disk = try await runThroughFullDisk(harness, fullFor: 2)
        let audit = try await harness.cli(["audit", "list", "--config", harness.configPath, "--json"])
        harness.daemon?.kill(SIGTERM)
        #expect(try await harness.daemon?.wait(timeout: .seconds(10)) == 0)
        _ = disk

        let recovered = try #require(harness.alertLines().first { $0.contains("store_recovered") })
        #expect(recovered.contains("CRITICAL"))
        #expect(recovered.contains("readings did not fit in memory and are lost: audited as readings_lost"))
        #expect(audit.status == 0, "\(audit.err)")
        for series in ["INC-01 temperature", "INC-01 co2", "INC-02 temperature", "INC-02 co2"] {
            #expect(audit.out.contains("series \(series)"), "a readings_lost entry for \(series)")
        }
        #expect(audit.out.contains("readings_lost"))
        #expect(audit.out.contains("the store could not be written and the memory buffer was full"))
    }
}

@Test("kill -9 during heavy ingestion, then restart: integrity_check is ok and every reading committed before the kill is there")
func killDuringIngestion() async throws {
    let devices = (1...6).map { "  - { id: INC-0\($0), kind: incubator, bus: lan, unit: \($0), profile: inc, every: 100ms }" }
    let harness = try Harness(config: """
        site: e2e-kill
        store: FOLDER/labgate.sqlite
        alerts: FOLDER
        control: FOLDER/control.sock
        buses:
          - id: lan
            tcp: { host: 127.0.0.1, port: PORT }
        devices:
        \(devices.joined(separator: "\n"))
        profiles:
          inc:
            temperature: { table: input, address: 0, type: float32, order: CDAB, unit: "°C" }
            co2: { table: input, address: 2, type: int16, scale: 0.01, unit: "%", invalid: [-32768] }
        """)
    try await harness.startSim()
    try harness.startDaemon(extra: [])
    try await eventually("ingestion", timeout: .seconds(20)) { ((try? harness.readings(device: "INC-06"))?.count ?? 0) > 100 }
    // What a reader sees committed right now, then the kill a moment later, mid-stream.
    var committed: [String: [Reading]] = [:]
    for n in 1...6 { committed["INC-0\(n)"] = try harness.readings(device: "INC-0\(n)") }
    try await Task.sleep(for: .milliseconds(137))
    harness.daemon?.kill(SIGKILL)
    _ = try await harness.daemon?.wait(timeout: .seconds(5))

    #expect(try runCommand("/usr/bin/sqlite3", [harness.storePath, "PRAGMA integrity_check;"]).out == "ok\n")

    try harness.startDaemon(extra: [])
    try await eventually("polling again", timeout: .seconds(20)) {
        ((try? harness.readings(device: "INC-01"))?.count ?? 0) > (committed["INC-01"]?.count ?? 0) + 20
    }
    harness.daemon?.kill(SIGTERM)
    #expect(try await harness.daemon?.wait(timeout: .seconds(10)) == 0)
    for (device, before) in committed {
        let after = Set(try harness.readings(device: device).map { "\(UTCTime.format($0.time)) \($0.channel)" })
        let missing = before.map { "\(UTCTime.format($0.time)) \($0.channel)" }.filter { !after.contains($0) }
        #expect(missing.isEmpty, "\(device): \(missing.count) committed readings gone")
    }
    let verify = try await harness.cli(["audit", "verify", "--store", harness.storePath])
    #expect(verify.status == 0, "\(verify.out) \(verify.err)")
}
