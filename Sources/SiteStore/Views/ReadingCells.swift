import NIOCore
import PostgresNIO

/// A series' readings read straight from the binary bytes of the arrays `SiteLotSource.readings`
/// asks for. A big lot is 1.45 million readings, and postgres-nio's generic tuple decoding
/// (parameter packs, a `Date` per row then back to milliseconds) was most of the report's time.
enum ReadingCells {
    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    /// 2000-01-01 00:00:00 UTC, PostgreSQL's epoch, in UTC milliseconds.
    static let postgresEpochMS: Int64 = 946_684_800_000
}

extension ReadingCells {
    /// PostgreSQL's element type ids of the arrays read here.
    static let timestamptzOID: UInt32 = 1184, float8OID: UInt32 = 701, int2OID: UInt32 = 21

    /// A one-dimensional binary array (PostgreSQL's `array_send`: dimensions, flags, element
    /// type, each dimension's length and lower bound, then each element as its length, -1 for
    /// NULL, and its bytes), read element by element by `element`, which gets the length and
    /// reads that many bytes. A NULL array (an aggregate of no rows) has no elements.
    static func elements(
        _ cell: PostgresCell, of elementType: UInt32, reserve: (Int) -> Void, _ element: (Int32, inout ByteBuffer) throws -> Void
    ) throws {
        guard var bytes = cell.bytes else { return }
        guard cell.format == .binary, let dimensions = bytes.readInteger(as: Int32.self), bytes.readInteger(as: Int32.self) != nil,
              let type = bytes.readInteger(as: UInt32.self)
        else { throw Malformed(description: "\(cell.columnName): not a binary array") }
        guard dimensions != 0 else { return }
        guard dimensions == 1, type == elementType, let count = bytes.readInteger(as: Int32.self), bytes.readInteger(as: Int32.self) != nil
        else { throw Malformed(description: "\(cell.columnName): not a one-dimensional array of type \(elementType)") }
        reserve(Int(count))
        for _ in 0..<Int(count) {
            guard let length = bytes.readInteger(as: Int32.self), bytes.readableBytes >= max(0, Int(length))
            else { throw Malformed(description: "\(cell.columnName): cut short") }
            let end = bytes.readerIndex + max(0, Int(length))
            try element(length, &bytes)
            guard bytes.readerIndex == end else { throw Malformed(description: "\(cell.columnName): an element of \(length) bytes") }
        }
    }

    /// A timestamptz[] as UTC milliseconds (no NULLs: a reading always has a time).
    static func times(_ cell: PostgresCell, into times: inout [Int64]) throws {
        try elements(cell, of: timestamptzOID, reserve: { times.reserveCapacity(times.count + $0) }) { length, bytes in
            guard length == 8, let micros = bytes.readInteger(as: Int64.self) else { throw Malformed(description: "reading time: NULL") }
            times.append((micros >= 0 ? (micros + 500) / 1000 : (micros - 500) / 1000) + postgresEpochMS)
        }
    }

    /// A float8[], NULL elements as nil.
    static func values(_ cell: PostgresCell, into values: inout [Double?]) throws {
        try elements(cell, of: float8OID, reserve: { values.reserveCapacity(values.count + $0) }) { length, bytes in
            if length < 0 { values.append(nil); return }
            guard length == 8, let bits = bytes.readInteger(as: UInt64.self) else { throw Malformed(description: "reading value: \(length) bytes") }
            values.append(Double(bitPattern: bits))
        }
    }

    /// An int2[] (no NULLs: a reading always has a quality).
    static func qualities(_ cell: PostgresCell, into qualities: inout [Int16]) throws {
        try elements(cell, of: int2OID, reserve: { qualities.reserveCapacity(qualities.count + $0) }) { length, bytes in
            guard length == 2, let code = bytes.readInteger(as: Int16.self) else { throw Malformed(description: "reading quality: NULL") }
            qualities.append(code)
        }
    }
}
