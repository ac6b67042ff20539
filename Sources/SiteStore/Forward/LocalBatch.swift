import Foundation
import GRDB
import GRDBSQLite
import LabGate

/// What the forwarder takes from the gateway's store in one go, read in one snapshot: each
/// stream's rows past its confirmed position (as COPY text), where each stream then stands, and
/// the chain heads of what it carries (the last audit entry and seal in the batch, or the ones
/// the site already holds).
struct LocalBatch: Sendable {
    struct Part: Sendable {
        let stream: ForwardStream
        let rows: Int
        /// Tab-separated COPY text, one line per row.
        let copy: Data
        /// Where the stream stood when read (the site's confirmed position then) and where the rows take it.
        let from: Int64
        let position: Int64
        /// The first and last reading time in milliseconds (readings only), for the month partitions.
        var times: ClosedRange<Int64>?
    }

    var parts: [Part] = []
    /// Deviations and alarms changed since the site's confirmed change counter (`changed`, the
    /// store's `ForwardChangeMigration`), and the device statuses rewritten since the ones the site
    /// holds: the rows that are rewritten as they go, sent only when they changed.
    var deviations = Data()
    var alarms = Data()
    var statuses = Data()
    var deviationRows = 0
    var alarmRows = 0
    var statusRows = 0
    /// The change counters the deviations and alarms reach (positions `deviation_change`,
    /// `alarm_change`), and the `updated` of each status sent.
    var deviationChange: Int64 = 0
    var alarmChange: Int64 = 0
    var statusUpdated: [String: Int64] = [:]
    var auditHead: (seq: Int64, hash: String)?
    var sealHead: (id: Int64, hash: String)?
    /// The newest reading in the store, for the lag.
    var newestReading: Int64 = 0

    static let deviationChangeStream = "deviation_change"
    static let alarmChangeStream = "alarm_change"

    var readings: Int { parts.first { $0.stream.name == "reading" }?.rows ?? 0 }
    var isEmpty: Bool { parts.allSatisfy { $0.rows == 0 } && changedRecords == 0 }
    /// Deviations, alarms and statuses in the batch.
    var changedRecords: Int { deviationRows + alarmRows + statusRows }

    /// Reads the next batch past `positions` (a stream missing from it starts at 0); `statuses`:
    /// each device's `updated` as the site holds it; `gateway`: the first column of the streams
    /// copied in the site table's columns (`ForwardStream.direct`).
    static func read(
        _ db: Database, gateway: String, after positions: [String: Int64], statuses sent: [String: Int64] = [:], readingLimit: Int
    ) throws -> LocalBatch {
        var batch = LocalBatch()
        // Readings first: a full batch of them caps the seals taken to those whose readings are
        // all in it (the seal of its last reading may go on into the next batch).
        var sealCap = Int64.max
        var parts: [String: Part] = [:]
        var gatewayText = CopyText()
        gatewayText.escaped(gateway.utf8)
        for stream in [ForwardStream.reading] + ForwardStream.all.filter({ $0.name != "reading" }) {
            let position = positions[stream.name] ?? 0
            let limit = stream.name == "reading" ? readingLimit : stream.limit
            var copy = CopyText()
            var last = position
            var count = 0
            var lastSeal: Int64?
            var times: ClosedRange<Int64>?
            let statement = try db.makeStatement(sql: stream.local)
            try statement.setArguments(stream.capped ? [position, limit, sealCap] : [position, limit])
            let sqlite = statement.sqliteStatement
            let columns = sqlite3_column_count(sqlite)
            let timeColumns = stream.direct?.times ?? []
            defer { sqlite3_reset(sqlite) }
            while true {
                let code = sqlite3_step(sqlite)
                if code == SQLITE_DONE { break }
                guard code == SQLITE_ROW else {
                    throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: stream.local)
                }
                if stream.direct != nil {
                    copy.bytes.append(contentsOf: gatewayText.bytes)
                    copy.tab()
                }
                for index in 0..<columns {
                    if index > 0 { copy.tab() }
                    if timeColumns.contains(index), sqlite3_column_type(sqlite, index) == SQLITE_INTEGER {
                        let time = sqlite3_column_int64(sqlite, index)
                        copy.time(milliseconds: time)
                        if stream.name == "reading" { times = times.map { min($0.lowerBound, time)...max($0.upperBound, time) } ?? time...time }
                    } else {
                        copy.column(sqlite, index)
                    }
                }
                copy.newline()
                last = sqlite3_column_int64(sqlite, 0)
                count += 1
                if stream.name == "reading" {
                    lastSeal = sqlite3_column_type(sqlite, 7) == SQLITE_NULL ? nil : sqlite3_column_int64(sqlite, 7)
                }
                if stream.name == "audit" { batch.auditHead = (last, text(sqlite, 10)) }
                if stream.name == "reading_seal" { batch.sealHead = (last, text(sqlite, 5)) }
            }
            if stream.name == "reading", count == limit, let lastSeal { sealCap = lastSeal - 1 }
            parts[stream.name] = Part(stream: stream, rows: count, copy: copy.data, from: position, position: last, times: times)
        }
        batch.parts = ForwardStream.all.compactMap { parts[$0.name] }
        for (sql, stream) in [
            ("SELECT id, record, state, device, start, changed FROM deviation WHERE changed > ? ORDER BY changed", deviationChangeStream),
            ("SELECT id, record, state, deviation, raised, changed FROM alarm WHERE changed > ? ORDER BY changed", alarmChangeStream),
        ] {
            var copy = Data()
            var count = 0
            var last = positions[stream] ?? 0
            let cursor = try Row.fetchCursor(db, sql: sql, arguments: [last])
            while let row = try cursor.next() {
                appendLine(row, columns: 5, to: &copy)
                last = row[5]
                count += 1
            }
            if stream == deviationChangeStream {
                (batch.deviations, batch.deviationRows, batch.deviationChange) = (copy, count, last)
            } else {
                (batch.alarms, batch.alarmRows, batch.alarmChange) = (copy, count, last)
            }
        }
        // Two columns of every status first (250 rows at scale): the JSON only of those rewritten.
        let changed = try Row.fetchAll(db, sql: "SELECT device, updated FROM device_status").compactMap { row -> (String, Int64)? in
            let device: String = row[0]
            let updated: Int64 = row[1]
            return sent[device] == updated ? nil : (device, updated)
        }
        if !changed.isEmpty {
            let cursor = try Row.fetchCursor(
                db, sql: "SELECT device, updated, json_object(\(statusColumns)) FROM device_status WHERE device IN (SELECT value FROM json_each(?))",
                arguments: [String(decoding: try JSONEncoder().encode(changed.map(\.0)), as: UTF8.self)])
            while let row = try cursor.next() {
                appendLine(row, to: &batch.statuses)
                batch.statusRows += 1
                batch.statusUpdated[row[0]] = row[1]
            }
        }
        batch.newestReading = try RecentMove.maxRowid(db)
        return batch
    }

    private static func text(_ statement: OpaquePointer, _ index: Int32) -> String {
        guard let text = sqlite3_column_text(statement, index) else { return "" }
        return String(decoding: UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(statement, index))), as: UTF8.self)
    }

    /// Every column of `device_status` as json_object's name/value pairs; nested JSON stays JSON.
    private static let statusColumns = [
        "device", "updated", "last_poll", "last_answer", "polls_answered", "polls_failed", "polls_skipped",
        "consecutive_failures", "next_try", "transactions_ok", "timeouts", "crc_errors", "bad_responses",
        "connection_errors", "exceptions", "latency_count", "latency_p50", "latency_p99", "latency_max",
        "last_error", "last_error_time", "channels",
    ].map { name in
        name == "exceptions" || name == "channels" ? "'\(name)', json(\(name))" : "'\(name)', \(name)"
    }.joined(separator: ", ")

    /// One row as a line of PostgreSQL's COPY text format: tab between columns, \N for NULL,
    /// backslash, tab, newline and carriage return escaped.
    static func appendLine(_ row: Row, columns: Int? = nil, to data: inout Data) {
        for index in 0..<(columns ?? row.count) {
            if index > 0 { data.append(0x09) }
            let value: DatabaseValue = row[index]
            switch value.storage {
            case .null: data.append(contentsOf: [0x5C, 0x4E])
            case .int64(let number): data.append(contentsOf: String(number).utf8)
            case .double(let number): data.append(contentsOf: doubleText(number).utf8)
            case .string(let text): appendEscaped(text, to: &data)
            case .blob(let blob): appendEscaped(String(decoding: blob, as: UTF8.self), to: &data)
            }
        }
        data.append(0x0A)
    }

    /// The shortest text that reads back as the same double (Swift's description), in the
    /// spelling PostgreSQL reads.
    static func doubleText(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
        return value.description
    }

    static func appendEscaped(_ text: String, to data: inout Data) {
        for byte in text.utf8 {
            switch byte {
            case 0x5C: data.append(contentsOf: [0x5C, 0x5C])
            case 0x09: data.append(contentsOf: [0x5C, 0x74])
            case 0x0A: data.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: data.append(contentsOf: [0x5C, 0x72])
            default: data.append(byte)
            }
        }
    }
}
