import Foundation
import LabGate

/// The statistics over a placement whose spec band changed during it (a reload changed the spec's
/// content): each reading is judged by the band in force at its time.
extension LotStatistics {
    /// Bands in force from each time on, oldest first; the first also applies before its time.
    public typealias BandSchedule = [(from: Int64, band: LotReport.SpecBand?)]

    public static func summarize(_ data: SeriesData, bands: BandSchedule, temperature: Bool) -> Summary {
        guard bands.count > 1 else { return summarize(data, band: bands.first?.band ?? nil, temperature: temperature) }
        var summary = summarize(data, band: nil, temperature: temperature)
        var good = 0
        var inSpec = 0
        for (part, band) in segments(data, bands) {
            guard let band else { continue }
            for value in part.values where !value.isNaN {
                good += 1
                if band.contains(value) { inSpec += 1 }
            }
        }
        summary.timeInSpec = good > 0 ? Double(inSpec) / Double(good) * 100 : nil
        return summary
    }

    public static func excursions(_ data: SeriesData, bands: BandSchedule) -> [Span] {
        guard bands.count > 1 else { return excursions(data, band: bands.first?.band ?? nil) }
        return segments(data, bands).flatMap { excursions($0.data, band: $0.band) }
    }

    public static func downsample(_ data: SeriesData, from: Int64, to: Int64, columns: Int, bands: BandSchedule) -> [Column] {
        guard bands.count > 1 else {
            return downsample(data, from: from, to: to, columns: columns, band: bands.first?.band ?? nil)
        }
        return downsample(data, from: from, to: to, columns: columns, band: nil).map { column in
            var column = column
            let start = column.start.millisecondsSince1970
            let band = bands.last { $0.from <= start }?.band ?? bands[0].band
            if let band, let low = column.min, let high = column.max {
                column.outOfSpec = !band.contains(low) || !band.contains(high)
            }
            return column
        }
    }

    /// The readings under each band: those before the second band's time under the first, and so on.
    static func segments(_ data: SeriesData, _ bands: BandSchedule) -> [(data: SeriesData, band: LotReport.SpecBand?)] {
        bands.indices.map { index in
            let lower = index == 0 ? Int64.min : bands[index].from
            let upper = index + 1 < bands.count ? bands[index + 1].from : Int64.max
            return (data.slice(from: lower, to: upper), bands[index].band)
        }
    }
}

extension SeriesData {
    /// The readings with times in `[from, to)` (times are in order).
    func slice(from: Int64, to: Int64) -> SeriesData {
        let start = times.partitioningIndex { $0 >= from }
        let end = times.partitioningIndex { $0 >= to }
        guard start < end else { return SeriesData() }
        var part = SeriesData()
        part.times = Array(times[start..<end])
        part.values = Array(values[start..<end])
        part.qualities = Array(qualities[start..<end])
        return part
    }
}

extension Array {
    /// The first index whose element satisfies `belongs` (which holds for a suffix).
    func partitioningIndex(where belongs: (Element) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if belongs(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}

extension LotReport.ChannelReport {
    /// Values shown at the resolution they were measured at: extremes, worst values and chart
    /// columns at the field's, means one decimal finer.
    mutating func round(to resolution: ValueResolution) {
        statistics.min = statistics.min.map(resolution.rounded)
        statistics.max = statistics.max.map(resolution.rounded)
        statistics.mean = statistics.mean.map(resolution.derived.rounded)
        statistics.meanKineticTemperature = statistics.meanKineticTemperature.map(resolution.derived.rounded)
        excursions = excursions.map { span in
            var span = span
            span.worst = resolution.rounded(span.worst)
            return span
        }
        chart = chart.map { column in
            var column = column
            column.min = column.min.map(resolution.rounded)
            column.max = column.max.map(resolution.rounded)
            return column
        }
    }
}
