import Foundation
import Glibc
import LabGate
import Testing

/// Two incubators polled every 200 ms.
private let config = """
    site: e2e
    store: FOLDER/labgate.sqlite
    alerts: FOLDER
    buses:
      - id: lan
        tcp: { host: 127.0.0.1, port: PORT }
    devices:
      - { id: INC-01, kind: incubator, bus: lan, unit: 1, profile: inc, every: 200ms }
      - { id: INC-02, kind: incubator, bus: lan, unit: 2, profile: inc, every: 200ms }
    profiles:
      inc:
        temperature: { table: input, address: 0, type: float32, order: CDAB, unit: "°C" }
        co2: { table: input, address: 2, type: int16, scale: 0.01, unit: "%", invalid: [-32768] }
    """

private let rows = "SELECT rowid, series, time, value, quality, detail, lot_set, seal FROM reading ORDER BY rowid"

@Suite("the daemon's recent readings after kill -9", .serialized)
struct RecentMoveEndToEndTests {
    @Test("after kill -9 the readings and seal entries still recent are kept: the next start moves them, a clean stop leaves nothing recent, and audit verify passes")
    func killedWithRecentReadings() async throws {
        let harness = try Harness(config: config)
        try await harness.startSim(speed: 1)
        try harness.startDaemon()
        try await eventuallyAsync("20 seals", timeout: .seconds(60)) { ((try? await harness.storeHeads().sealSeq) ?? 0) >= 20 }
        harness.daemon?.kill(SIGKILL)
        _ = try await harness.daemon?.wait(timeout: .seconds(10))
        let before = try harness.sqlite(harness.storePath, rows)
        let recent = try harness.sqlite(harness.storePath, "SELECT count(*) FROM reading_recent; SELECT count(*) FROM seal_series_recent;")
        // Moved every 2 minutes: everything of these seconds was still recent when killed.
        let counts = recent.split(separator: "\n").compactMap { Int($0) }
        #expect(counts.count == 2 && counts[0] == before.split(separator: "\n").count && counts[1] > 0, "\(recent)")

        try harness.startDaemon()
        let killedAt = try await harness.storeHeads().sealSeq
        try await eventuallyAsync("5 more seals", timeout: .seconds(60)) { try await harness.storeHeads().sealSeq >= killedAt + 5 }
        harness.daemon?.kill(SIGTERM)
        #expect(try await harness.daemon?.wait(timeout: .seconds(15)) == 0)

        let after = try harness.sqlite(harness.storePath, rows)
        #expect(after.hasPrefix(before), "every row written before the kill is kept as it was")
        #expect(after.count > before.count)
        let left = try harness.sqlite(harness.storePath, "SELECT (SELECT count(*) FROM reading_recent) + (SELECT count(*) FROM seal_series_recent)")
        #expect(left == "0\n")
        let verify = try await harness.cli(["audit", "verify", "--store", harness.storePath])
        #expect(verify.status == 0, "\(verify.out)")
        #expect(verify.out.hasPrefix("OK: the record is intact"), "\(verify.out)")
    }
}
