import Foundation
import GRDB
import LabGate
import Logging
import PostgresNIO
import SiteStore
import TestSupport

extension PostgreSQLServer {
    /// A connection to the test server as its user (plain TCP on loopback).
    func connect() async throws -> PostgresConnection {
        try await PostgresConnection.connect(
            configuration: .init(host: "127.0.0.1", port: port, username: user, password: password, database: database, tls: .disable),
            id: 1, logger: Logger(label: "test"))
    }

    /// One number from a query.
    func count(_ sql: String) throws -> Int {
        Int(try rows(sql).first?.first ?? "") ?? -1
    }
}

/// `count` readings on `devices` devices, one second apart from `start`, every fifth with a bad
/// quality and a detail that needs escaping in COPY text.
func siteTestReadings(count: Int, devices: Int = 2, start: Date = Date(timeIntervalSince1970: 1_800_000_000.25)) -> [Reading] {
    (0..<count).map { index in
        let device = "DEV-\(index % devices)"
        let time = start.addingTimeInterval(Double(index) * 0.5)
        if index % 5 == 4 {
            return Reading(device: device, channel: "temperature", time: time, value: nil, quality: .timeout, detail: "no answer\tafter 1 s\\n")
        }
        return Reading(device: device, channel: index % 2 == 0 ? "temperature" : "co2", time: time, value: Double(index) / 3, quality: .good)
    }
}

/// What a gateway's store holds and what the site store holds for it, as comparable lines:
/// (seq, device, channel, time ms, value, quality, detail, lot set) for every reading.
func localReadingLines(_ store: ReadingStore) async throws -> [String] {
    try await store.pool.read { db in
        try Row.fetchAll(db, sql: """
            SELECT reading.rowid, device, channel, time, value, quality, detail, lot_set
            FROM reading JOIN series ON series.id = reading.series ORDER BY reading.rowid
            """).map { row in
            let value: Double? = row[4]
            let detail: String? = row[6]
            let lotSet: Int64? = row[7]
            let number = value.map { $0 == $0.rounded() && abs($0) < 1e15 ? String(Int64($0)) : $0.description } ?? ""
            return "\(row[0] as Int64)|\(row[1] as String)|\(row[2] as String)|\(row[3] as Int64)|\(number)|\(row[5] as Int64)|\(detail ?? "")|\(lotSet.map(String.init) ?? "")"
        }
    }
}

func siteReadingLines(_ server: PostgreSQLServer, gateway: String) throws -> [String] {
    try server.rows("""
        SELECT r.seq || '|' || s.device || '|' || s.channel || '|' || (extract(epoch FROM r.time) * 1000)::bigint || '|'
            || coalesce(r.value::text, '') || '|' || r.quality || '|' || coalesce(r.detail, '') || '|' || coalesce(r.lot_set::text, '')
        FROM reading r JOIN series s ON s.gateway = r.gateway AND s.id = r.series
        WHERE r.gateway = '\(gateway)' ORDER BY r.seq
        """).map { $0.joined(separator: "|") }
}
