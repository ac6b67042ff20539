import Foundation
import LabGate

/// What one channel's numbers meant over one placement: the field they were decoded with and the
/// spec band they were judged by, at its start and as each changed during it. Taken from what the
/// store recorded; from the config of the day only for a store that recorded nothing (written by
/// a labgate from before definitions were recorded).
struct ChannelDefinition: Sendable {
    /// Where the field came from, and the band.
    var source: LotReport.DefinitionSource
    var bandSource: LotReport.DefinitionSource
    var field: SeriesDescription?
    var fieldChanges: [LotReport.FieldChange]
    var band: LotReport.SpecBand?
    var bandChanges: [LotReport.BandChange]

    init(
        device: String, channel: String, spec: String, from: Int64, to: Int64, history: DefinitionHistory, config: Config?
    ) {
        let fields = history.series(device: device, channel: channel).inForce(from: from, to: to)
        let specs = history.spec(spec).inForce(from: from, to: to)
        let configDevice = config?.device(device)
        let configField = configDevice.flatMap { device in
            config?.profile(of: device).field(channel).map { SeriesDescription(device: device, field: $0, profile: device.profile) }
        }
        let configSpec = config?.specs[spec].map(RecordedSpec.init)
        if let first = fields.first {
            source = .recorded
            field = first.value
            fieldChanges = fields.changes.map { .init(time: Date(millisecondsSince1970: $0.time), field: $0.value) }
        } else {
            source = configField == nil ? .none : .config
            field = configField
            fieldChanges = []
        }
        if let first = specs.first {
            bandSource = .recorded
            band = Self.band(first.value, channel: channel)
            var previous = band
            bandChanges = specs.changes.compactMap { change in
                let band = Self.band(change.value, channel: channel)
                defer { previous = band }
                return band == previous ? nil : .init(time: Date(millisecondsSince1970: change.time), band: band)
            }
        } else {
            bandSource = configSpec == nil ? .none : .config
            band = configSpec.flatMap { Self.band($0, channel: channel) }
            bandChanges = []
        }
    }

    static func band(_ spec: RecordedSpec, channel: String) -> LotReport.SpecBand? {
        spec.limits[channel].map {
            LotReport.SpecBand(low: $0.low?.value, high: $0.high?.value, criticalLow: $0.criticalLow, criticalHigh: $0.criticalHigh)
        }
    }

    /// The finest resolution the values were decoded at over the placement (nil without a field).
    var resolution: ValueResolution? {
        let all = ([field] + fieldChanges.map(\.field)).compactMap { $0?.resolution }
        guard !all.isEmpty else { return nil }
        if all.contains(.float32) { return .float32 }
        return all.max { lhs, rhs in
            if case let .decimals(l) = lhs, case let .decimals(r) = rhs { return l < r }
            return false
        }
    }

    /// The band in force from each time on, the first from `from`.
    func bandSchedule(from: Int64) -> [(from: Int64, band: LotReport.SpecBand?)] {
        [(from, band)] + bandChanges.map { ($0.time.millisecondsSince1970, $0.band) }
    }

    /// Seconds between polls as recorded (the first in force).
    var every: Double? { field?.every }
}

extension LotReport {
    /// Where a channel's definitions (field, unit, spec band) came from.
    public enum DefinitionSource: String, Sendable, Codable {
        /// Recorded in the store's audit trail when they were in force.
        case recorded
        /// The store recorded none: the config given to the report (today's).
        case config
        /// Neither: unit, resolution and band are unknown.
        case none
    }

    /// The field a channel's values were decoded with changed during the placement (a new scale,
    /// register or unit, from a reload).
    public struct FieldChange: Sendable, Codable, Hashable {
        public var time: Date
        public var field: SeriesDescription
    }

    /// The spec band a channel was judged by changed during the placement (the spec's content was
    /// changed by a reload); nil when the spec no longer limits the channel.
    public struct BandChange: Sendable, Codable, Hashable {
        public var time: Date
        public var band: SpecBand?
    }
}
