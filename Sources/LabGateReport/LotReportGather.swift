import Foundation
import GRDB
import LabGate

extension LotReport {
    /// Gathers the report from a store opened read-only. Units, fields, poll intervals and spec
    /// limits are those the store recorded while the lot was placed; `config` supplies them only
    /// for a store that recorded none (without either, the interval is inferred from the
    /// readings' median spacing).
    public static func gather(
        lot: String, store: ReadingStore, config: Config?, columns: Int = 1200, now: Date = Date(),
        verify: Bool = true, anchors: [AnchorSource]? = nil
    ) async throws -> LotReport {
        let plan = try await store.pool.read { db in try Self.plan(lot: lot, db: db, config: config, now: now) }
        // The integrity statement reads the lot's own series only (and the seal chain by its
        // hashes); the channels' figures stand on the rows it re-hashes, so each reading is read
        // once (on a big store, each table page), not once for each. A store without per-series
        // seals, or no check asked for: each channel reads its own.
        let checked = verify
            ? try await Self.integrity(store, windows: plan.windows, lotSets: plan.lotSetIDs, anchors: anchors) : nil
        let gathered = checked?.gathered ?? []
        let channels = try await plan.channelReports(columns: columns) { slot, job, placement in
            if gathered.indices.contains(slot), let rows = gathered[slot] { return SeriesData(rows) }
            return try await store.pool.read { db in
                try SeriesData.fetch(db, series: job.series, from: placement.start, to: placement.until, lotSets: plan.lotSets)
            }
        }
        let placements = zip(plan.placements, channels).map { placement, channels in
            PlacementReport(
                device: placement.placement.device, spec: placement.placement.spec,
                start: Date(millisecondsSince1970: placement.start), end: placement.placement.end.map(Date.init(millisecondsSince1970:)),
                until: Date(millisecondsSince1970: placement.until), startedBy: placement.placement.startedBy,
                endedBy: placement.placement.endedBy, correctedBy: placement.placement.correctedBy,
                channels: channels.compactMap { $0 })
        }
        let devices = Set(placements.map(\.device))
        let records = try await store.pool.read { db in try Self.records(lot: lot, devices: devices, db: db) }
        var report = LotReport(
            lot: lot, generated: now, site: config?.site, store: store.path, placements: placements,
            deviations: records.deviations, audit: records.audit,
            integrity: Integrity(
                ok: true, problems: [], auditEntries: 0, readingsChecked: 0, sealsInChain: 0, sealsChecked: 0,
                auditHead: FieldDigest.zero,
                auditHeadSeq: 0, readingSealHead: FieldDigest.zero))
        if let checked { report.integrity = checked.integrity }
        let span = (plan.placements.map(\.start).min() ?? 0, plan.placements.map(\.until).max() ?? 0)
        report.clockSteps = try await store.pool.read { db in try Self.clockSteps(from: span.0, to: span.1, db: db) }
        // A store written before notifications were recorded has no such table: nobody was notified.
        let ids = records.deviations.map(\.id)
        report.notifications = (try? await store.pool.read { db in
            try Dictionary(uniqueKeysWithValues: ids.map { ($0, try NotificationLog.attempts(naming: $0, db: db)) })
        }) ?? [:]
        let signed = try await store.pool.read { db in
            (try Signature.ofLot(lot, deviations: ids, db: db), try LotApproval.of(lot: lot, db: db))
        }
        report.signatures = signed.0
        report.approval = signed.1
        report.summary = report.makeSummary()
        return report
    }

    public struct NotFound: Error, CustomStringConvertible {
        public var description: String
    }

    /// What to read: the lot's placements, each with its device's channels.
    struct Plan: Sendable {
        struct PlannedPlacement: Sendable {
            var placement: Placement
            var start: Int64
            var until: Int64
            var channels: [ChannelJob]
        }

        var placements: [PlannedPlacement]
        /// The lot sets naming the lot, as an SQL list.
        var lotSets: String
        var lotSetIDs: Set<Int64>

        /// Each channel of each placement over its interval: what the integrity check re-hashes.
        var windows: [LotWindow] {
            placements.flatMap { placement in
                placement.channels.map { LotWindow(series: $0.series, from: placement.start, to: placement.until) }
            }
        }

        /// Each channel's report, side by side; `data` gives a channel's readings by its slot.
        func channelReports(
            columns: Int, data: @escaping @Sendable (Int, ChannelJob, PlannedPlacement) async throws -> SeriesData
        ) async throws -> [[ChannelReport?]] {
            try await withThrowingTaskGroup(of: (Int, Int, ChannelReport).self) { group in
                var slot = 0
                for (p, placement) in placements.enumerated() {
                    for (c, job) in placement.channels.enumerated() {
                        let this = slot
                        group.addTask {
                            let series = try await data(this, job, placement)
                            return (p, c, job.report(series, from: placement.start, to: placement.until, columns: columns))
                        }
                        slot += 1
                    }
                }
                var reports = placements.map { [ChannelReport?](repeating: nil, count: $0.channels.count) }
                for try await (p, c, report) in group { reports[p][c] = report }
                return reports
            }
        }
    }

    /// One channel of a placement: where its readings are and what to judge them by.
    struct ChannelJob: Sendable {
        var series: Int64
        var channel: String
        var definition: ChannelDefinition

        func report(_ data: SeriesData, from: Int64, to: Int64, columns: Int) -> ChannelReport {
            let definition = definition
            let unit = definition.field?.unit ?? ""
            let every = definition.every ?? LotStatistics.medianSpacing(data.times).map { Double($0) / 1000 } ?? 0
            let isTemperature = channel == "temperature" || unit == "°C"
            var report = ChannelReport(
                channel: channel, unit: unit, field: definition.field, fieldSource: definition.source,
                fieldChanges: definition.fieldChanges, resolution: definition.resolution, band: definition.band,
                bandSource: definition.bandSource, bandChanges: definition.bandChanges, every: every,
                everyInferred: definition.every == nil,
                statistics: LotStatistics.summarize(data, bands: definition.bandSchedule(from: from), temperature: isTemperature),
                completeness: LotStatistics.completeness(data, from: from, to: to, everyMS: Int64(every * 1000)),
                excursions: LotStatistics.excursions(data, bands: definition.bandSchedule(from: from)),
                chart: LotStatistics.downsample(data, from: from, to: to, columns: columns, bands: definition.bandSchedule(from: from)))
            if let resolution = definition.resolution { report.round(to: resolution) }
            return report
        }
    }

    /// The lot's events and the lot sets naming it (the tags of its readings); NotFound when the
    /// store has no such lot.
    static func lotRecords(_ lot: String, db: Database) throws -> (events: [LotEvent], lotSets: [Int64]) {
        let events = try LotEvent.fetchAll(db, lot: lot)
        guard !events.isEmpty else { throw NotFound(description: "no lot '\(lot)' in the store") }
        let lotSets = try Row.fetchAll(db, sql: "SELECT id, lots FROM lot_set").compactMap { row -> Int64? in
            let lots: String = row[1]
            return lots.split(separator: ",").contains(where: { $0 == lot }) ? row[0] : nil
        }
        return (events, lotSets)
    }

    /// Ids as an SQL list for `IN (…)` ("NULL" when there are none, which matches nothing).
    static func sqlList(_ ids: [Int64]) -> String { ids.isEmpty ? "NULL" : ids.map(String.init).joined(separator: ",") }

    private static func plan(lot: String, db: Database, config: Config?, now: Date) throws -> Plan {
        let (events, lotSets) = try lotRecords(lot, db: db)
        let nowMS = now.millisecondsSince1970
        let folded = Placement.fold(events)
        var channelsOf: [String: [Row]] = [:]
        for device in Set(folded.map(\.device)) {
            channelsOf[device] = try Row.fetchAll(
                db, sql: "SELECT id, channel FROM series WHERE device = ? ORDER BY channel", arguments: [device])
        }
        let history = try DefinitionHistory.load(
            db: db, series: channelsOf.flatMap { device, rows in rows.map { (device, $0[1] as String) } },
            specs: Array(Set(folded.map(\.spec))))
        let placements = folded.map { placement in
            let until = placement.end ?? max(nowMS, placement.start)
            let channels = (channelsOf[placement.device] ?? []).map { row -> ChannelJob in
                let channel: String = row[1]
                let definition = ChannelDefinition(
                    device: placement.device, channel: channel, spec: placement.spec, from: placement.start, to: until,
                    history: history, config: config)
                return ChannelJob(series: row[0], channel: channel, definition: definition)
            }
            return Plan.PlannedPlacement(placement: placement, start: placement.start, until: until, channels: channels)
        }
        return Plan(
            placements: placements, lotSets: sqlList(lotSets),
            lotSetIDs: Set(lotSets))
    }

    private struct Records: Sendable {
        var deviations: [DeviationRecord]
        var audit: [AuditEntry]
    }

    private static func records(lot: String, devices: Set<String>, db: Database) throws -> Records {
        let deviations = try String.fetchAll(db, sql: "SELECT record FROM deviation ORDER BY start, id")
            .compactMap { try? AuditJSON.decode(DeviationRecord.self, $0) }
            .filter { $0.lots.contains(lot) }
        var objects = ["lot \(lot)"] + deviations.map { "deviation \($0.id)" }
        objects += devices.sorted().flatMap { device in
            (try? String.fetchAll(db, sql: "SELECT channel FROM series WHERE device = ?", arguments: [device]))?
                .map { "series \(device) \($0)" } ?? []
        }
        let marks = Array(repeating: "?", count: objects.count).joined(separator: ",")
        let audit = try Row.fetchAll(
            db, sql: "SELECT * FROM audit WHERE object IN (\(marks)) ORDER BY seq", arguments: StatementArguments(objects))
            .map(AuditTrail.entry)
        return Records(deviations: deviations, audit: audit)
    }

    static func integrity(
        _ store: ReadingStore, windows: [LotWindow], lotSets: Set<Int64>, anchors: [AnchorSource]?
    ) async throws -> (integrity: Integrity, gathered: [LotSealCheck.Gathered?]) {
        let lot = try await AuditVerifier.verifyLot(store, windows: windows, gather: lotSets)
        var verified = lot.report
        let sealsChecked = lot.sealsChecked
        if let anchors { verified.apply(try await AnchorCheck.check(store, sources: anchors)) }
        let heads = try await store.pool.read { db in
            let audit = try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
            let seal = try ReadingSeal.head(db: db)
            return (seq: audit.map { $0[0] as Int64 } ?? 0, hash: audit.map { $0[1] as String } ?? FieldDigest.zero, seal: seal.hash)
        }
        let integrity = Integrity(
            ok: verified.ok, problems: verified.problems, auditEntries: verified.auditEntries,
            readingsChecked: verified.readings, sealsInChain: verified.seals, sealsChecked: sealsChecked,
            auditHead: heads.hash, auditHeadSeq: heads.seq, readingSealHead: heads.seal,
            anchor: verified.anchors?.checkedAgainst, anchorNotes: verified.anchors?.notes)
        return (integrity, lot.gathered)
    }
}
