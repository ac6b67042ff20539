import Foundation
import Logging
import SiteStore
import Testing
import TestSupport

/// `SiteLotSource.readings` reads a series as one row of binary arrays (the site report's bulk);
/// what the report depends on: every reading of the range and lot sets, in time order, failed
/// polls (no value) kept in place with their quality, nothing for a range without readings.
@Suite("site report readings: a series' range read from the site store as arrays", .serialized)
struct SiteLotReadingsTests {
    @Test("a series' readings come in time order with their values, missing values and quality codes; an empty range is empty")
    func readings() async throws {
        let server = try await PostgreSQLServer()
        let connection = try await server.connect()
        try await SiteMigrator.migrate(connection, logger: Logger(label: "test"))
        let source = SiteLotSource(connections: [connection], url: server.url, logger: Logger(label: "test"))
        let t0 = 1_793_491_200_000 as Int64  // 2026-11-01 00:00:00 UTC
        func at(_ ms: Int64) -> String { "to_timestamp(\(ms) / 1000.0)" }
        // Inserted out of time order; a failed poll (NULL value, quality 3); a reading of another
        // lot set and one of another series in between, which must not come.
        let result = try server.psql(
            """
            SELECT labgate_reading_months('2026-11-01', '2026-11-02');
            INSERT INTO series VALUES ('gw-a', 1, 'INC-A', 'temperature'), ('gw-a', 2, 'INC-A', 'co2');
            INSERT INTO reading (gateway, seq, series, time, value, quality, lot_set) VALUES
                ('gw-a', 3, 1, \(at(t0 + 20_000)), 37.25, 0, 1),
                ('gw-a', 1, 1, \(at(t0)), -0.5, 0, 1),
                ('gw-a', 2, 1, \(at(t0 + 10_000)), NULL, 3, 1),
                ('gw-a', 4, 1, \(at(t0 + 15_000)), 99, 0, 2),
                ('gw-a', 5, 2, \(at(t0 + 12_000)), 5.0, 0, 1),
                ('gw-a', 6, 1, \(at(t0 + 30_123)), 1e300, 1, 1);
            """)
        #expect(result.status == 0, "\(result)")
        let readings = try await source.readings(gateway: "gw-a", series: 1, from: t0, to: t0 + 60_000, lotSets: [1])
        #expect(readings.times == [t0, t0 + 10_000, t0 + 20_000, t0 + 30_123])
        #expect(readings.values == [-0.5, nil, 37.25, 1e300])
        #expect(readings.qualities == [0, 3, 0, 1])
        let none = try await source.readings(gateway: "gw-a", series: 1, from: t0 + 60_000, to: t0 + 120_000, lotSets: [1])
        #expect(none.times.isEmpty && none.values.isEmpty && none.qualities.isEmpty)
        await source.close()
        try await server.stop()
    }
}
