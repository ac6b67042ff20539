import Foundation
import GRDB
import GRDBSQLite
import LabGate

/// PostgreSQL's COPY text format built straight from SQLite's column accessors on a prepared
/// statement: no Row, no DatabaseValue, no String per number. A backlog batch is 50,000 readings
/// and as many seal entries, and building their lines through GRDB's rows and Swift's number
/// descriptions was most of the forwarder's own CPU.
struct CopyText {
    var bytes: [UInt8] = []

    var data: Data { Data(bytes) }

    mutating func tab() { bytes.append(0x09) }
    mutating func newline() { bytes.append(0x0A) }
    mutating func null() { bytes.append(0x5C); bytes.append(0x4E) }

    mutating func int64(_ value: Int64) {
        if value == 0 { bytes.append(0x30); return }
        if value == .min { bytes.append(contentsOf: String(value).utf8); return }
        var magnitude = value < 0 ? -value : value
        if value < 0 { bytes.append(0x2D) }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var count = 0
            while magnitude > 0 {
                digits[count] = UInt8(truncatingIfNeeded: 0x30 + magnitude % 10)
                magnitude /= 10
                count += 1
            }
            while count > 0 {
                count -= 1
                bytes.append(digits[count])
            }
        }
    }

    private static let powers: [Double] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000]

    /// A double PostgreSQL reads back as the same double. Most readings have a few decimals: when
    /// `value` is exactly the double nearest m / 10^k (k <= 6), the decimal m·10^-k is written
    /// (PostgreSQL's float8 input rounds correctly, so it reads back `value`); anything else goes
    /// through Swift's shortest round-trip description.
    mutating func double(_ value: Double) {
        if value.isFinite, value != 0, value.magnitude < 1e12 {
            for k in 0..<Self.powers.count {
                let scaled = value * Self.powers[k]
                guard scaled == scaled.rounded() else { continue }
                let m = Int64(scaled)
                guard Double(m) / Self.powers[k] == value else { break }
                decimal(m, places: k)
                return
            }
        }
        bytes.append(contentsOf: LocalBatch.doubleText(value).utf8)
    }

    /// m·10^-places as decimal text.
    private mutating func decimal(_ m: Int64, places: Int) {
        var (m, places) = (m, places)
        // 37.05 × 100 is not exactly 3705 in doubles, × 1000 is 37050: written 37.05 all the same.
        while places > 0, m % 10 == 0 { m /= 10; places -= 1 }
        if places == 0 { int64(m); return }
        if m < 0 { bytes.append(0x2D) }
        let magnitude = m.magnitude
        var scale: UInt64 = 1
        for _ in 0..<places { scale *= 10 }
        int64(Int64(magnitude / scale))
        bytes.append(0x2E)
        var fraction = magnitude % scale
        for _ in 0..<places {
            scale /= 10
            bytes.append(UInt8(truncatingIfNeeded: 0x30 + fraction / scale))
            fraction %= scale
        }
    }

    /// Text escaped for COPY: backslash, tab, newline and carriage return.
    mutating func escaped<Bytes: Sequence>(_ text: Bytes) where Bytes.Element == UInt8 {
        for byte in text {
            switch byte {
            case 0x5C: bytes.append(0x5C); bytes.append(0x5C)
            case 0x09: bytes.append(0x5C); bytes.append(0x74)
            case 0x0A: bytes.append(0x5C); bytes.append(0x6E)
            case 0x0D: bytes.append(0x5C); bytes.append(0x72)
            default: bytes.append(byte)
            }
        }
    }

    /// Milliseconds since 1970 as timestamptz text in UTC (`2026-11-30 06:14:00.123+00`), exactly.
    mutating func time(milliseconds: Int64) {
        let (year, month, day, rest) = UTCTime.civil(milliseconds: milliseconds)
        // Years past 9999 as they are, years before 1 as PostgreSQL spells them (`0001 ... BC`).
        let bc = year < 1
        let shown = bc ? 1 - year : year
        if shown > 9999 { int64(shown) } else { digits(shown, 4) }
        bytes.append(0x2D); digits(month, 2); bytes.append(0x2D); digits(day, 2)
        bytes.append(0x20)
        digits(rest / 3_600_000, 2); bytes.append(0x3A)
        digits(rest / 60_000 % 60, 2); bytes.append(0x3A)
        digits(rest / 1_000 % 60, 2); bytes.append(0x2E)
        digits(rest % 1_000, 3)
        bytes.append(contentsOf: [0x2B, 0x30, 0x30])
        if bc { bytes.append(contentsOf: " BC".utf8) }
    }

    private mutating func digits(_ value: Int64, _ width: Int) {
        var scale: Int64 = 1
        for _ in 1..<width { scale *= 10 }
        var value = value
        while scale > 0 {
            bytes.append(UInt8(truncatingIfNeeded: 0x30 + value / scale))
            value %= scale
            scale /= 10
        }
    }

    /// Column `index` of the statement's current row, as COPY text.
    mutating func column(_ statement: OpaquePointer, _ index: Int32) {
        switch sqlite3_column_type(statement, index) {
        case SQLITE_NULL: null()
        case SQLITE_INTEGER: int64(sqlite3_column_int64(statement, index))
        case SQLITE_FLOAT: double(sqlite3_column_double(statement, index))
        default:
            // Text and blobs alike, as their UTF-8 bytes (the accessor converts a blob to text).
            guard let text = sqlite3_column_text(statement, index) else { null(); return }
            let count = Int(sqlite3_column_bytes(statement, index))
            escaped(UnsafeBufferPointer(start: text, count: count))
        }
    }
}
