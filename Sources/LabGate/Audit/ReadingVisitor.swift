import GRDB

/// Sees every stored reading as the verifier reads it, so that whoever needs rows of the store
/// besides their check (a lot report) reads each row once. The verifier scans row ranges side by
/// side; each range gets a visitor of its own, handed back in range order.
public protocol ReadingVisitor: Sendable {
    mutating func visit(_ reading: ScannedReading)
}

/// A stored reading as the verifier's scan holds it: each field is read from the row only when
/// asked for, since most rows are of no interest to the visitor. Valid only during `visit`: the
/// statement moves on to the next row after it.
public struct ScannedReading {
    let row: SQLiteStatement

    public var series: Int64 { Int64(sqliteStatement: row, index: 0) }
    /// Milliseconds since 1970 (UTC).
    public var time: Int64 { Int64(sqliteStatement: row, index: 1) }
    public var value: Double? { Double.fromStatement(row, atUncheckedIndex: 2) }
    public var quality: Quality {
        let code = Int(Int64(sqliteStatement: row, index: 3))
        return Quality.allCases.indices.contains(code) ? Quality.allCases[code] : .badResponse
    }
    public var lotSet: Int64? { Int64.fromStatement(row, atUncheckedIndex: 5) }
}

/// A visitor that looks at nothing: the plain check.
struct IgnoringVisitor: ReadingVisitor {
    mutating func visit(_: ScannedReading) {}
}
