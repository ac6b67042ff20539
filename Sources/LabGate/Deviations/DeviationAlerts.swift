import Foundation

/// Deviation transitions as lines of alerts.log and alerts.jsonl, each with the lot ids.
public enum DeviationAlerts {
    public static func opened(_ record: DeviationRecord) -> AlertEvent {
        var detail: String?
        switch record.kind {
        case .excursion: detail = nil
        case .dataGap: detail = "data gap"
        case .sensorFault: detail = "sensor fault"
        }
        return event(
            record, .deviationOpened, severity: record.critical ? .critical : .warning,
            time: Date(millisecondsSince1970: record.opened), value: record.valueAtOpening, lots: record.lots,
            detail: detail)
    }

    public static func lotsAdded(_ record: DeviationRecord, added: [String]) -> AlertEvent {
        event(
            record, .deviationLotsAdded, severity: .warning, time: Date(), lots: added,
            detail: "now names \(record.lots.joined(separator: ","))")
    }

    public static func recovered(_ record: DeviationRecord) -> AlertEvent {
        var words: [String] = []
        if let end = record.end {
            words.append("ended \(UTCTime.format(Date(millisecondsSince1970: end)))")
            words.append("lasted \(DurationText.format(.milliseconds(end - record.start)))")
        }
        if let size = record.size { words.append("size \(AlertFormatter.number(size)) \(sizeUnit(record))") }
        return event(
            record, .deviationRecovered, severity: .info, time: Date(), lots: record.lots,
            detail: words.joined(separator: ", "))
    }

    public static func acknowledged(_ record: DeviationRecord) -> AlertEvent {
        event(
            record, .deviationAcknowledged, severity: .info, time: Date(), lots: record.lots, user: record.ackedBy,
            detail: record.ackComment)
    }

    public static func closed(_ record: DeviationRecord) -> AlertEvent {
        event(
            record, .deviationClosed, severity: .info, time: Date(), lots: record.lots, user: record.closedBy,
            detail: record.impact)
    }

    /// e.g. "%·min" or "°C·min".
    public static func sizeUnit(_ record: DeviationRecord) -> String {
        let unit = record.unit ?? ""
        return unit.isEmpty ? "unit·min" : "\(unit)·min"
    }

    private static func event(
        _ record: DeviationRecord, _ kind: AlertEvent.Kind, severity: AlertEvent.Severity, time: Date,
        value: Double? = nil, lots: [String], user: String? = nil, detail: String?
    ) -> AlertEvent {
        AlertEvent(
            time: time, severity: severity, event: kind, device: record.device, channel: record.channel, value: value,
            unit: record.unit, limit: record.limit, since: record.startDate, worst: record.worst, detail: detail,
            deviation: record.id, lots: lots, user: user)
    }
}
