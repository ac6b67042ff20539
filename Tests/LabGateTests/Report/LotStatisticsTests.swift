import Foundation
import Testing
@testable import LabGate
@testable import LabGateReport

@Suite("lot report arithmetic")
struct LotStatisticsTests {
    let band = LotReport.SpecBand(low: 36, high: 38)

    @Test("min, max, mean, time in spec and MKT of a hand-computed example")
    func statistics() {
        // 4 good readings and one timeout: 36.5, 37.0, 38.5 (out), 37.0.
        let data = SeriesData(times: [0, 10_000, 20_000, 30_000, 40_000], values: [36.5, 37.0, nil, 38.5, 37.0])
        let s = LotStatistics.summarize(data, band: band, temperature: true)
        #expect(s.count == 5)
        #expect(s.good == 4)
        #expect(s.min == 36.5)
        #expect(s.max == 38.5)
        #expect(abs(s.mean! - 37.25) < 1e-12)
        #expect(s.timeInSpec == 75)
        // MKT = -(ΔH/R) / ln(mean(exp(-(ΔH/R)/T_K))) with T_K = °C + 273.15, ΔH/R = 10000 K.
        let kelvins = [309.65, 310.15, 311.65, 310.15]
        let mean = kelvins.map { exp(-10_000 / $0) }.reduce(0, +) / 4
        let expected = -10_000 / log(mean) - 273.15
        #expect(abs(s.meanKineticTemperature! - expected) < 1e-9)
        // MKT weighs warm readings more than the arithmetic mean: 37.26 °C here, above 37.25.
        #expect(s.meanKineticTemperature! > 37.25 && s.meanKineticTemperature! < 37.30)
        #expect(LotStatistics.summarize(data, band: nil, temperature: false).meanKineticTemperature == nil)
        #expect(LotStatistics.summarize(data, band: nil, temperature: false).timeInSpec == nil)
    }

    @Test("MKT of a constant temperature is that temperature")
    func constantMKT() {
        let data = SeriesData(times: [0, 1, 2], values: [-80, -80, -80])
        let mkt = LotStatistics.summarize(data, band: nil, temperature: true).meanKineticTemperature!
        #expect(abs(mkt - -80) < 1e-9)
    }

    @Test("completeness counts expected against received and measures each gap")
    func gaps() {
        // Every 10 s over [0, 120 s): 12 expected. Readings at 0..30, nothing until 80 (a 50 s gap),
        // a timeout at 90 and 100, good at 110; then nothing to the end (10 s: no gap).
        let times: [Int64] = [0, 10_000, 20_000, 30_000, 80_000, 90_000, 100_000, 110_000]
        let values: [Double?] = [37, 37, 37, 37, 37, nil, nil, 37]
        let c = LotStatistics.completeness(SeriesData(times: times, values: values), from: 0, to: 120_000, everyMS: 10_000)
        #expect(c.expected == 12)
        #expect(c.received == 6)
        #expect(c.percent == 50)
        #expect(c.gaps.count == 2)
        #expect(c.gaps[0].start == Date(millisecondsSince1970: 30_000))
        #expect(c.gaps[0].seconds == 50)
        #expect(c.gaps[0].reason == "no readings")
        #expect(c.gaps[1].seconds == 30)
        #expect(c.gaps[1].reason == "timeout")
        // Nothing at all after 30 s: the gap runs to the end of the placement.
        let tail = LotStatistics.completeness(
            SeriesData(times: [0, 10_000], values: [37, 37]), from: 0, to: 60_000, everyMS: 10_000)
        #expect(tail.gaps.map(\.seconds) == [50])
    }

    @Test("excursions run from the first reading out to the first back in, with the worst value")
    func excursions() {
        let data = SeriesData(times: [0, 10, 20, 30, 40, 50], values: [37, 38.4, 39.1, 38.2, 37.5, 35.0])
        let spans = LotStatistics.excursions(data, band: band)
        #expect(spans.count == 2)
        #expect(spans[0].start == Date(millisecondsSince1970: 10))
        #expect(spans[0].end == Date(millisecondsSince1970: 40))
        #expect(spans[0].worst == 39.1)
        #expect(spans[1].worst == 35.0)
    }

    @Test("downsampling keeps a one-reading excursion's extreme and marks empty columns")
    func downsample() {
        // 100 000 readings at 37, one spike of 41 and one dip of 30; 100 columns.
        var values = [Double?](repeating: 37, count: 100_000)
        values[54_321] = 41
        values[54_322] = 30
        for index in 70_000..<80_000 { values[index] = nil }
        let data = SeriesData(times: (0..<100_000).map { Int64($0) * 10_000 }, values: values)
        let columns = LotStatistics.downsample(data, from: 0, to: 1_000_000_000, columns: 100, band: band)
        #expect(columns.count == 100)
        #expect(columns.compactMap(\.max).max() == 41)
        #expect(columns.compactMap(\.min).min() == 30)
        #expect(columns[54].max == 41 && columns[54].min == 30 && columns[54].outOfSpec)
        #expect(columns.filter(\.outOfSpec).count == 1)
        #expect(columns[75].min == nil)
    }

    @Test("median spacing infers the poll interval")
    func median() {
        #expect(LotStatistics.medianSpacing([0, 10_000, 20_000, 90_000, 100_000]) == 10_000)
        #expect(LotStatistics.medianSpacing([5]) == nil)
    }

    @Test("HTML escapes text")
    func escaping() {
        #expect(esc("<b a=\"1\">&'") == "&lt;b a=&quot;1&quot;&gt;&amp;&#39;")
    }
}
