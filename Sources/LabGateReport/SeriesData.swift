import GRDB
import LabGate

/// One channel's readings of a lot in time order, in columns (fast to scan): a value is NaN
/// unless its quality is good.
public struct SeriesData: Sendable {
    public var times: [Int64] = []
    public var values: [Double] = []
    public var qualities: [Quality] = []

    public init() {}

    public init(times: [Int64], values: [Double?], qualities: [Quality]? = nil) {
        self.times = times
        self.values = values.map { $0 ?? .nan }
        self.qualities = qualities ?? values.map { $0 == nil ? .timeout : .good }
    }

    /// The readings a lot's integrity check gathered as it re-hashed them (`LotSealCheck`).
    package init(_ gathered: LotSealCheck.Gathered) {
        times = gathered.times
        values = gathered.values
        qualities = gathered.qualities
    }

    /// Parts read from consecutive row ranges, as one series in time order (rows are written in
    /// time order per series, except readings held back while the store could not be written).
    package static func joined(_ parts: [SeriesData]) -> SeriesData {
        var data = SeriesData()
        for part in parts {
            data.times += part.times
            data.values += part.values
            data.qualities += part.qualities
        }
        guard zip(data.times, data.times.dropFirst()).contains(where: { $0 > $1 }) else { return data }
        // Stable, like the index on (series, time) that `fetch` reads: equal times keep row order.
        let order = data.times.indices.sorted { (data.times[$0], $0) < (data.times[$1], $1) }
        return SeriesData(times: order.map { data.times[$0] }, values: order.map { data.values[$0] }, qualities: order.map { data.qualities[$0] })
    }

    package static func fetch(_ db: Database, series: Int64, from: Int64, to: Int64, lotSets: String) throws -> SeriesData {
        var data = SeriesData()
        let statement = try db.makeStatement(sql: """
            SELECT time, value, quality FROM reading
            WHERE series = ? AND time >= ? AND time < ? AND lot_set IN (\(lotSets)) ORDER BY time
            """)
        statement.arguments = [series, from, to]
        let qualities = Quality.allCases  // (a computed array: not once per row)
        let cursor = try Row.fetchCursor(statement)
        // Columns straight from the statement: a 6-week lot is a million and a half rows.
        let row = statement.sqliteStatement
        while try cursor.next() != nil {
            data.times.append(Int64(sqliteStatement: row, index: 0))
            data.values.append(Double.fromStatement(row, atUncheckedIndex: 1) ?? .nan)
            let code = Int(Int64(sqliteStatement: row, index: 2))
            data.qualities.append(qualities.indices.contains(code) ? qualities[code] : .badResponse)
        }
        return data
    }
}
