import Foundation

/// Gaps in the chain of reading seals, in plain words: seals missing from the chain (their ids
/// run without gaps from 1, each seal's previous hash the hash of the one before), and readings
/// that no seal covers (the seal they name is gone).
enum SealGap {
    /// Seals `from` through `to` are missing: the chain jumps over them.
    static func missing(from: Int64, to: Int64) -> String {
        let what = from == to ? "reading seal \(from) is missing" : "reading seals \(from)–\(to) are missing"
        let jump = from == 1 ? "the chain of seals starts at seal \(to + 1)" : "the chain of seals jumps from seal \(from - 1) to seal \(to + 1)"
        return "\(what) (deleted): \(jump)"
    }

    /// Where a run of readings lies: their rows and times.
    struct Span: Sendable {
        var count = 0
        var rows: ClosedRange<Int64>?
        var from = Int64.max
        var to = Int64.min

        mutating func note(row: Int64, time: Int64) {
            count += 1
            rows = rows.map { min($0.lowerBound, row)...max($0.upperBound, row) } ?? row...row
            from = min(from, time)
            to = max(to, time)
        }

        var words: String {
            guard let rows else { return "no rows" }
            let place = rows.count == 1 ? "row \(rows.lowerBound)" : "rows \(rows.lowerBound)–\(rows.upperBound)"
            let first = UTCTime.format(Date(millisecondsSince1970: from))
            let last = UTCTime.format(Date(millisecondsSince1970: to))
            return "\(place), \(from == to ? first : "\(first) to \(last)")"
        }
    }

    /// Readings naming seal `seal`, which the store does not hold; `head` is its newest seal.
    static func uncovered(_ span: Span, seal: Int64, head: Int64) -> String {
        let readings = span.count == 1 ? "1 reading (\(span.words)) is" : "\(span.count) readings (\(span.words)) are"
        if seal < head {
            return "\(readings) covered by no seal: seal \(seal), which they name, is missing (deleted)"
        }
        return "\(readings) covered by no seal: they name seal \(seal), past the newest seal \(head) (the newest seals were deleted, or the readings inserted behind the daemon's back)"
    }
}
