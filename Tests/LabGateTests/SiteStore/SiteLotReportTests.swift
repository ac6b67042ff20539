import Foundation
import LabGate
import LabGateReport
import Logging
import SiteStore
import Testing
import TestSupport

/// A lot placed on gw-a and moved to a freezer of gw-b, as the site store holds it: gw-a heard of
/// the move half an hour late (its own end is at 01:00, the move at 00:30) and went on tagging
/// readings with the lot; gw-b forwarded its readings up to 00:50 only.
private func fillMovedLot(_ server: PostgreSQLServer) throws {
    let zeros = String(repeating: "0", count: 64)
    let t0 = 1_793_491_200_000 as Int64  // 2026-11-01 00:00:00 UTC
    let signed = #"{"action":"approve","full_name":"Quinn QA","id":1,"lot":"LOT-1","meaning":"released","signed_at":"2026-11-01T01:10:00.000Z","subject":"LOT-1","subject_kind":"lot","user":"quinn","content_sha256":"ab"}"#
    let signedTime = t0 + 70 * 60_000
    let hash = AuditEntry.hash(
        seq: 1, time: signedTime, user: "quinn", action: "signed", object: "lot LOT-1", old: nil, new: signed, reason: nil,
        record: nil, prev: zeros)
    func at(_ ms: Int64) -> String { "to_timestamp(\(ms) / 1000.0)" }
    let sql = """
        SELECT labgate_reading_months('2026-11-01', '2026-11-02');
        INSERT INTO gateway (id, last_forward) VALUES ('gw-a', \(at(t0 + 3_600_000))), ('gw-b', \(at(t0 + 3_000_000)));
        INSERT INTO series VALUES ('gw-a', 1, 'INC-A', 'temperature'), ('gw-b', 7, 'FRZ-B', 'temperature');
        INSERT INTO lot_set VALUES ('gw-a', 1, 'LOT-1'), ('gw-a', 2, 'LOT-9'), ('gw-b', 3, 'LOT-0,LOT-1');
        INSERT INTO lot_event (gateway, id, lot, action, device, spec, time, "user") VALUES
            ('gw-a', 1, 'LOT-1', 'start', 'INC-A', 'culture', \(at(t0)), 'ana'),
            ('gw-a', 2, 'LOT-1', 'end', NULL, NULL, \(at(t0 + 3_600_000)), 'labgate'),
            ('gw-b', 1, 'LOT-1', 'move', 'FRZ-B', 'frozen', \(at(t0 + 1_800_000)), 'ben');
        INSERT INTO reading (gateway, seq, series, time, value, quality, lot_set)
            SELECT 'gw-a', n + 1, 1, \(at(t0)) + n * interval '1 minute', 37.0, 0, 1 FROM generate_series(0, 59) n;
        INSERT INTO reading (gateway, seq, series, time, value, quality, lot_set)
            SELECT 'gw-a', n + 100, 1, \(at(t0)) + n * interval '1 minute', 20.0, 0, 2 FROM generate_series(0, 59) n;
        INSERT INTO reading (gateway, seq, series, time, value, quality, lot_set)
            SELECT 'gw-b', n + 1, 7, \(at(t0 + 1_800_000)) + n * interval '1 minute', -80.0, 0, 3 FROM generate_series(0, 20) n;
        INSERT INTO audit (gateway, seq, time, "user", action, object, new, prev, hash) VALUES
            ('gw-b', 1, \(at(signedTime)), 'quinn', 'signed', 'lot LOT-1', '\(signed)', '\(zeros)', '\(hash)');
        """
    let result = try server.psql(sql)
    #expect(result.status == 0, "\(result)")
}

private func siteSource(_ server: PostgreSQLServer) async throws -> SiteLotSource {
    let connection = try await server.connect()
    try await SiteMigrator.migrate(connection, logger: Logger(label: "test"))
    return SiteLotSource(connections: [connection, try await server.connect()], url: server.url, logger: Logger(label: "test"))
}

@Suite("labgate report lot --site: a lot's record across gateways, from the site store", .serialized)
struct SiteLotReportTests {
    let now = Date(timeIntervalSince1970: 1_793_491_200 + 7200)

    @Test("a placement ends at site level when the lot is placed on another gateway: later readings tagged there do not count")
    func sitePath() async throws {
        let server = try await PostgreSQLServer()
        let source = try await siteSource(server)
        try fillMovedLot(server)
        let report = try await LotReport.gather(lot: "LOT-1", site: source, config: nil, now: now)
        #expect(report.placements.map(\.gateway) == ["gw-a", "gw-b"])
        #expect(report.placements.map(\.device) == ["INC-A", "FRZ-B"])
        // gw-a: 00:00 to the move at 00:30, not its own end at 01:00; its other lot's readings never.
        #expect(report.placements[0].end == Date(timeIntervalSince1970: 1_793_491_200 + 1800))
        #expect(report.placements[0].endedByGateway == "gw-b")
        #expect(report.placements[0].channels.map(\.statistics.count) == [30])
        #expect(report.placements[0].channels.first?.statistics.max == 37.0)
        #expect(report.placements[1].channels.map(\.statistics.count) == [21])
        #expect(report.signatures.map(\.user) == ["quinn"])
        #expect(report.integrity.ok, "\(report.integrity.problems)")
        // gw-b's open placement runs to now, but it forwarded up to 00:50: named, incomplete.
        #expect(report.gateways?.map(\.id) == ["gw-a", "gw-b"])
        #expect(report.gateways?[0].incomplete == nil)
        #expect(report.gateways?[1].incomplete?.contains("gateway gw-b has forwarded the lot's readings up to 2026-11-01T00:50:00") == true)
        #expect(report.summary?.incomplete?.count == 1)
        let html = report.html()
        #expect(html.contains("INC-A on gateway gw-a"))
        #expect(html.contains("Ended at site level when gateway gw-b placed the lot"))
        #expect(String(decoding: report.json(), as: UTF8.self).contains("\"endedByGateway\" : \"gw-b\""))
        var csv = Data()
        try await LotReportCSV.write(lot: "LOT-1", site: source, config: nil, now: now) { csv.append($0) }
        let lines = String(decoding: csv, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 1 + 30 + 21)
        #expect(lines.filter { $0.contains(",INC-A,") }.allSatisfy { $0.contains(",37.0,") })
        await source.close()
        try await server.stop()
    }

    @Test("a gateway's chain changed at the site fails the report's integrity, naming the gateway; an unknown lot is not found")
    func chainsAndUnknown() async throws {
        let server = try await PostgreSQLServer()
        let source = try await siteSource(server)
        try fillMovedLot(server)
        #expect(try server.psql("UPDATE audit SET \"user\" = 'mallory' WHERE gateway = 'gw-b' AND seq = 1").status == 0)
        let report = try await LotReport.gather(lot: "LOT-1", site: source, config: nil, now: now)
        #expect(!report.integrity.ok)
        #expect(report.integrity.problems.first?.hasPrefix("gateway gw-b: audit entry 1 was changed at the site") == true)
        await #expect(throws: LotReport.NotFound.self) {
            try await LotReport.gather(lot: "LOT-404", site: source, config: nil, now: now)
        }
        await source.close()
        try await server.stop()
    }
}
