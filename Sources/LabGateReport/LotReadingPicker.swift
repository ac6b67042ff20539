import LabGate

/// Picks a lot's readings out of the integrity check's scan of every row: per slot (a channel of
/// one placement), a series over `[from, to)` with a lot set naming the lot, in row order.
struct LotReadingPicker: ReadingVisitor {
    struct Window: Sendable {
        var slot: Int
        var from: Int64
        var to: Int64
    }

    let windows: [Int64: [Window]]
    let lotSets: Set<Int64>
    private(set) var picked: [SeriesData]

    init(windows: [Int64: [Window]], lotSets: Set<Int64>, slots: Int) {
        self.windows = windows
        self.lotSets = lotSets
        picked = Array(repeating: SeriesData(), count: slots)
    }

    var slots: Int { picked.count }

    mutating func visit(_ reading: ScannedReading) {
        guard let windows = windows[reading.series], let lotSet = reading.lotSet, lotSets.contains(lotSet) else { return }
        let time = reading.time
        for window in windows where window.from <= time && time < window.to {
            picked[window.slot].times.append(time)
            picked[window.slot].values.append(reading.value ?? .nan)
            picked[window.slot].qualities.append(reading.quality)
        }
    }

    /// Each slot's readings from the pickers of consecutive row ranges, in time order, as
    /// `SeriesData.fetch` returns them.
    static func joined(_ pickers: [LotReadingPicker], slots: Int) -> [SeriesData] {
        (0..<slots).map { slot in SeriesData.joined(pickers.map { $0.picked[slot] }) }
    }
}
