import Foundation
import LabGate

/// The arithmetic of a lot report, over one channel's readings: statistics, mean kinetic
/// temperature, completeness and gaps, excursions, and chart reduction that keeps every extreme.
public enum LotStatistics {
    /// ΔH/R for mean kinetic temperature, in kelvin (USP <1079> default: 83.144 kJ/mol).
    public static let activationOverGas = 10_000.0

    public struct Summary: Sendable, Codable, Hashable {
        /// Readings of any quality.
        public var count: Int
        public var good: Int
        public var min: Double?
        public var max: Double?
        public var mean: Double?
        /// Share of good readings inside the spec band, in % (nil without a band or readings).
        public var timeInSpec: Double?
        /// Mean kinetic temperature in °C (temperature channels only).
        public var meanKineticTemperature: Double?
    }

    public struct Completeness: Sendable, Codable, Hashable {
        public var expected: Int
        /// Good readings received.
        public var received: Int
        public var percent: Double?
        public var gaps: [Gap]
    }

    /// An interval without a good reading longer than twice the poll interval.
    public struct Gap: Sendable, Codable, Hashable {
        public var start: Date
        public var end: Date
        public var seconds: Double
        /// "no readings", or the qualities of the readings that came instead (e.g. "timeout").
        public var reason: String
    }

    /// A run of readings out of spec: from the first out to the first back in (or the last out).
    public struct Span: Sendable, Codable, Hashable {
        public var start: Date
        public var end: Date
        public var worst: Double
    }

    /// One pixel column of a chart.
    public struct Column: Sendable, Codable, Hashable {
        public var start: Date
        /// nil when the column holds no good reading (a gap).
        public var min: Double?
        public var max: Double?
        public var outOfSpec: Bool
    }

    public static func summarize(_ data: SeriesData, band: LotReport.SpecBand?, temperature: Bool) -> Summary {
        var good = 0
        var inSpec = 0
        var low = Double.infinity
        var high = -Double.infinity
        var sum = 0.0
        var arrhenius = 0.0
        for value in data.values where !value.isNaN {
            good += 1
            low = Swift.min(low, value)
            high = Swift.max(high, value)
            sum += value
            if let band, band.contains(value) { inSpec += 1 }
            if temperature { arrhenius += exp(-activationOverGas / (value + 273.15)) }
        }
        guard good > 0 else { return Summary(count: data.times.count, good: 0) }
        let mkt = temperature ? -activationOverGas / log(arrhenius / Double(good)) - 273.15 : nil
        return Summary(
            count: data.times.count, good: good, min: low, max: high, mean: sum / Double(good),
            timeInSpec: band.map { _ in Double(inSpec) / Double(good) * 100 }, meanKineticTemperature: mkt)
    }

    /// Expected readings over [from, to) at one per `everyMS`, good ones received, and every gap.
    public static func completeness(_ data: SeriesData, from: Int64, to: Int64, everyMS: Int64) -> Completeness {
        let expected = everyMS > 0 ? Int((to - from) / everyMS) : 0
        var gaps: [Gap] = []
        var lastGood = from
        var bad: Set<Quality> = []
        var received = 0
        func gap(_ end: Int64) {
            guard everyMS > 0, end - lastGood > 2 * everyMS else { return }
            let reason = bad.isEmpty ? "no readings" : bad.map(\.rawValue).sorted().joined(separator: ", ")
            gaps.append(Gap(
                start: Date(millisecondsSince1970: lastGood), end: Date(millisecondsSince1970: end),
                seconds: Double(end - lastGood) / 1000, reason: reason))
        }
        for index in data.times.indices {
            if data.values[index].isNaN {
                bad.insert(data.qualities[index])
                continue
            }
            received += 1
            gap(data.times[index])
            lastGood = data.times[index]
            bad = []
        }
        gap(to)
        let percent = expected > 0 ? Double(received) / Double(expected) * 100 : nil
        return Completeness(expected: expected, received: received, percent: percent, gaps: gaps)
    }

    public static func excursions(_ data: SeriesData, band: LotReport.SpecBand?) -> [Span] {
        guard let band else { return [] }
        var spans: [Span] = []
        var open: (start: Int64, last: Int64, worst: Double)?
        let middle = ((band.low ?? band.high ?? 0) + (band.high ?? band.low ?? 0)) / 2
        for index in data.times.indices {
            let value = data.values[index]
            guard !value.isNaN else { continue }
            let time = data.times[index]
            if band.contains(value) {
                if let run = open {
                    spans.append(Span(start: Date(millisecondsSince1970: run.start), end: Date(millisecondsSince1970: time), worst: run.worst))
                    open = nil
                }
            } else if var run = open {
                if abs(value - middle) > abs(run.worst - middle) { run.worst = value }
                run.last = time
                open = run
            } else {
                open = (time, time, value)
            }
        }
        if let run = open {
            spans.append(Span(start: Date(millisecondsSince1970: run.start), end: Date(millisecondsSince1970: run.last), worst: run.worst))
        }
        return spans
    }

    /// Reduces readings to `columns` columns over [from, to), each with the min and max of its
    /// good readings: every excursion's extreme survives.
    public static func downsample(
        _ data: SeriesData, from: Int64, to: Int64, columns: Int, band: LotReport.SpecBand?
    ) -> [Column] {
        let span = Swift.max(to - from, 1)
        let count = Int(Swift.max(1, Swift.min(Int64(columns), span)))
        var lows = [Double](repeating: .infinity, count: count)
        var highs = [Double](repeating: -.infinity, count: count)
        for index in data.times.indices {
            let value = data.values[index]
            guard !value.isNaN else { continue }
            let column = Int(Swift.min(Swift.max((data.times[index] - from) * Int64(count) / span, 0), Int64(count - 1)))
            if value < lows[column] { lows[column] = value }
            if value > highs[column] { highs[column] = value }
        }
        return (0..<count).map { column in
            let start = Date(millisecondsSince1970: from + span * Int64(column) / Int64(count))
            guard lows[column] <= highs[column] else { return Column(start: start, min: nil, max: nil, outOfSpec: false) }
            let out = band.map { !$0.contains(lows[column]) || !$0.contains(highs[column]) } ?? false
            return Column(start: start, min: lows[column], max: highs[column], outOfSpec: out)
        }
    }

    /// The median spacing between readings in milliseconds (nil with fewer than two).
    public static func medianSpacing(_ times: [Int64]) -> Int64? {
        guard times.count > 1 else { return nil }
        var spacings = zip(times.dropFirst(), times).map { $0 - $1 }
        let middle = spacings.count / 2
        spacings.sort()
        return spacings[middle]
    }
}
