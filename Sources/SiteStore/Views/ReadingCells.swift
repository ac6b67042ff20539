import NIOCore
import PostgresNIO

/// A reading row's cells read straight from their binary bytes. A big lot is 1.45 million rows
/// through `SiteLotSource.readings`, and postgres-nio's generic tuple decoding (parameter packs,
/// a `Date` per row then back to milliseconds) was most of the report's time; these read the
/// three columns the query asks for, in the binary format postgres-nio requests.
enum ReadingCells {
    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    /// 2000-01-01 00:00:00 UTC, PostgreSQL's epoch, in UTC milliseconds.
    static let postgresEpochMS: Int64 = 946_684_800_000

    /// A binary timestamptz (microseconds since 2000) as UTC milliseconds, rounded as
    /// `Date.millisecondsSince1970` rounds.
    static func milliseconds(_ cell: PostgresCell) throws -> Int64 {
        guard cell.format == .binary, cell.dataType == .timestamptz || cell.dataType == .timestamp,
              var bytes = cell.bytes, bytes.readableBytes == 8, let micros = bytes.readInteger(as: Int64.self)
        else { throw Malformed(description: "reading time: not a binary timestamp (\(cell.dataType))") }
        let ms = micros >= 0 ? (micros + 500) / 1000 : (micros - 500) / 1000
        return ms + postgresEpochMS
    }

    /// A binary float8, nil for NULL.
    static func value(_ cell: PostgresCell) throws -> Double? {
        guard var bytes = cell.bytes else { return nil }
        guard cell.format == .binary, cell.dataType == .float8, bytes.readableBytes == 8, let bits = bytes.readInteger(as: UInt64.self)
        else { throw Malformed(description: "reading value: not a binary float8 (\(cell.dataType))") }
        return Double(bitPattern: bits)
    }

    /// A binary int2.
    static func quality(_ cell: PostgresCell) throws -> Int16 {
        guard cell.format == .binary, cell.dataType == .int2, var bytes = cell.bytes, bytes.readableBytes == 2,
              let code = bytes.readInteger(as: Int16.self)
        else { throw Malformed(description: "reading quality: not a binary int2 (\(cell.dataType))") }
        return code
    }
}
