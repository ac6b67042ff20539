import Foundation
import GRDB

/// Records in the audit trail what the store's numbers mean: each series' field (`series_described`,
/// object `series DEVICE CHANNEL`) and each spec's content (`spec_recorded`, object `spec NAME`),
/// as canonical JSON. Written when a config is loaded and when a lot is placed, moved or
/// corrected, each only when it differs from what was last recorded, so the latest entry at or
/// before a time is what was in force then. Runs inside the caller's transaction.
package enum DefinitionRecord {
    package static let seriesAction = "series_described"
    package static let specAction = "spec_recorded"

    package static func seriesObject(device: String, channel: String) -> String { "series \(device) \(channel)" }
    package static func specObject(_ name: String) -> String { "spec \(name)" }

    /// Records the fields of `devices` (every device when nil) and the content of `specs` (every
    /// spec when nil) that differ from their last record; returns how many entries were written.
    @discardableResult
    package static func record(
        _ config: Config, devices: [String]? = nil, specs: [String]? = nil, user: String, reason: String,
        db: Database, at time: Date = Date()
    ) throws -> Int {
        var written = 0
        func note(action: String, object: String, new: String) throws {
            let last = try String.fetchOne(
                db, sql: "SELECT new FROM audit WHERE object = ? AND action = ? ORDER BY seq DESC LIMIT 1",
                arguments: [object, action])
            guard last != new else { return }
            try AuditTrail.append(
                .init(user: user, action: action, object: object, old: last, new: new, reason: reason), db: db, at: time)
            written += 1
        }
        let chosen = devices.map { ids in ids.compactMap(config.device) } ?? config.devices
        for device in chosen {
            for field in config.profile(of: device).fields {
                let description = SeriesDescription(device: device, field: field, profile: device.profile)
                try note(
                    action: seriesAction, object: seriesObject(device: device.id, channel: field.channel),
                    new: AuditJSON.encode(description))
            }
        }
        for name in specs ?? config.specs.keys.sorted() {
            guard let spec = config.specs[name] else { continue }
            try note(action: specAction, object: specObject(name), new: AuditJSON.encode(RecordedSpec(spec)))
        }
        return written
    }
}

/// A recorded definition and when it was recorded (UTC milliseconds).
public struct Dated<Value: Sendable>: Sendable {
    public var time: Int64
    public var value: Value
}

extension Dated: Codable where Value: Codable {}
extension Dated: Equatable where Value: Equatable {}
extension Dated: Hashable where Value: Hashable {}

/// The recorded definitions of some series and specs, oldest first, as a report reads them.
public struct DefinitionHistory: Sendable {
    public private(set) var series: [String: [Dated<SeriesDescription>]] = [:]
    public private(set) var specs: [String: [Dated<RecordedSpec>]] = [:]

    public init() {}

    /// Reads the records of the given series (device, channel) and specs.
    package static func load(db: Database, series: [(device: String, channel: String)], specs: [String]) throws
        -> DefinitionHistory
    {
        var history = DefinitionHistory()
        let statement = try db.makeStatement(
            sql: "SELECT time, new FROM audit WHERE object = ? AND action = ? ORDER BY seq")
        for (device, channel) in series {
            statement.arguments = [DefinitionRecord.seriesObject(device: device, channel: channel), DefinitionRecord.seriesAction]
            history.series[device + "\u{0}" + channel] = try Row.fetchAll(statement).compactMap { row in
                guard let text = row[1] as String?, let value = try? AuditJSON.decode(SeriesDescription.self, text) else { return nil }
                return Dated(time: row[0], value: value)
            }
        }
        for name in specs {
            statement.arguments = [DefinitionRecord.specObject(name), DefinitionRecord.specAction]
            history.specs[name] = try Row.fetchAll(statement).compactMap { row in
                guard let text = row[1] as String?, let value = try? AuditJSON.decode(RecordedSpec.self, text) else { return nil }
                return Dated(time: row[0], value: value)
            }
        }
        return history
    }

    public func series(device: String, channel: String) -> [Dated<SeriesDescription>] {
        series[device + "\u{0}" + channel] ?? []
    }

    public func spec(_ name: String) -> [Dated<RecordedSpec>] { specs[name] ?? [] }
}

extension Array {
    /// Of records oldest first: the one in force over `[from, to)` at its start and each that
    /// replaced it before `to`. The one in force at `from` is the last recorded at or before it;
    /// when nothing was recorded by then, the first recorded before `to` (a store from before
    /// definitions were recorded learns them at its next load).
    public func inForce<Value>(from: Int64, to: Int64) -> (first: Dated<Value>?, changes: [Dated<Value>])
    where Element == Dated<Value> {
        let startIndex = lastIndex { $0.time <= from } ?? firstIndex { $0.time < to }
        guard let startIndex else { return (nil, []) }
        let changes = self[(startIndex + 1)...].prefix { $0.time < to }
        return (self[startIndex], Array(changes))
    }
}

extension DefinitionHistory {
    /// A history built from rows read elsewhere than a local store (the site store's audit
    /// table): per series (device, channel) and per spec, the recorded definitions oldest first.
    package init(series: [(device: String, channel: String, records: [Dated<SeriesDescription>])], specs: [String: [Dated<RecordedSpec>]]) {
        self.init()
        for entry in series { self.series[entry.device + "\u{0}" + entry.channel] = entry.records }
        self.specs = specs
    }
}

extension Dated {
    /// A record read elsewhere than a local store, in force from `time` (UTC milliseconds).
    package static func at(_ time: Int64, _ value: Value) -> Dated { Dated(time: time, value: value) }
}
