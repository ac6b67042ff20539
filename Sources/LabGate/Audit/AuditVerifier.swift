import Foundation
import GRDB

/// Checks the whole record: the audit chain entry by entry, the chain of reading seals, every
/// stored reading against its seal, and every lot event, deviation, alarm and notification
/// attempt against the last audit entry that recorded it. Anything changed behind the daemon's back (an edit or a deletion with
/// the sqlite3 shell) shows up as a problem naming what no longer matches.
public enum AuditVerifier {
    public struct Report: Sendable, Codable {
        public var auditEntries = 0
        public var seals = 0
        public var readings = 0
        public var lotEvents = 0
        public var deviations = 0
        public var signatures = 0
        public var alarms = 0
        public var notifications = 0
        /// What does not match, the first problem first (at most `limit` of them).
        public var problems: [String] = []
        /// The store against the anchors written outside it (`AnchorCheck`); nil when not checked.
        public var anchors: AnchorCheck.Result?

        public var ok: Bool { problems.isEmpty }
    }

    /// Reads the store in `parts` row ranges side by side (on connections of their own, one per
    /// core), when it holds more than `splitAbove` readings: re-hashing every reading is most of
    /// the work. Seals and rows are streamed: memory does not grow with the store.
    public static func verify(_ store: ReadingStore, limit: Int = 20, parts: Int = 2, splitAbove: Int64 = 100_000)
        async throws -> Report
    {
        // Everything but the readings themselves is read in one transaction; the readings after
        // it, only up to the last row that transaction saw (rows are only ever appended, and
        // each batch commits with its seal, so later reads see the same rows up to there).
        let plan = try await store.pool.read { db in
            var report = Report()
            var problems: [String] = []
            try checkAudit(db, &report, &problems)
            let layout = try SealLayout(db)
            // The live chains continue from where the month archives end (`ArchiveCheck`).
            report.seals = try SealChain.check(db, layout: layout, &problems, start: try ArchivedHeads.seal(db))
            try SealChain.checkSeriesChains(
                db, layout: layout, rows: try SealedRows(db: db), &problems, heads: try ArchivedHeads.series(db))
            var recordProblems: [String] = []
            try checkRecords(db, &report, &recordProblems)
            let ranges = try rowRanges(db, parts: parts, splitAbove: splitAbove)
            let head = try ReadingSeal.head(db: db).id
            return (report: report, problems: problems, recordProblems: recordProblems, ranges: ranges, rows: try SealedRows(db: db), layout: layout, head: head)
        }
        let scans = try await withThrowingTaskGroup(of: (Int, SealScan.Result).self) { group in
            for (index, range) in plan.ranges.enumerated() {
                group.addTask {
                    try await store.pool.read { db in
                        (index, try SealScan.scan(db, rows: plan.rows, layout: plan.layout, range: range))
                    }
                }
            }
            var scans = [SealScan.Result?](repeating: nil, count: plan.ranges.count)
            for try await (index, scan) in group { scans[index] = scan }
            return scans.compactMap { $0 }
        }
        var report = plan.report
        report.readings = scans.reduce(0) { $0 + $1.readings }
        var problems = plan.problems
        problems += try await store.pool.read { db in
            var found: [String] = []
            var finished: Int64 = 0
            for scan in scans {
                if let first = scan.first {
                    found += try SealScan.between(db, after: finished, before: first)
                    if first <= finished { found.append("readings of seal \(first) are out of place (inserted behind the daemon's back)") }
                }
                found += scan.problems
                finished = max(finished, scan.last ?? finished)
            }
            return found + (try SealScan.between(db, after: finished, before: plan.head + 1))
        }
        problems += plan.recordProblems
        let archives = try ArchiveCheck.check(store)
        problems += archives.problems
        report.seals += archives.seals
        report.readings += archives.readings
        let schema = try await store.pool.read { db in try SchemaCheck.check(db) }
        report.problems = SchemaCheck.listed(problems, schema: schema, limit: limit)
        return report
    }

    // MARK: The audit chain

    static func checkAudit(_ db: Database, _ report: inout Report, _ problems: inout [String]) throws {
        var expectedSeq: Int64 = 1
        var prev = FieldDigest.zero
        let cursor = try Row.fetchCursor(db, sql: "SELECT * FROM audit ORDER BY seq")
        var anchors: [(seq: Int64, seal: Int64, hash: String)] = []
        while let row = try cursor.next() {
            let entry = AuditTrail.entry(row)
            report.auditEntries += 1
            if entry.seq != expectedSeq {
                problems.append("audit entry \(expectedSeq)\(entry.seq > expectedSeq + 1 ? "–\(entry.seq - 1)" : "") is missing (deleted): the chain jumps from \(expectedSeq - 1) to \(entry.seq)")
            } else if entry.prev != prev {
                problems.append("audit entry \(entry.seq) (\(entry.action) \(entry.object)) does not follow entry \(entry.seq - 1): its previous hash does not match (entry \(entry.seq - 1) was changed or replaced)")
            }
            let hash = AuditEntry.hash(
                seq: entry.seq, time: entry.time.millisecondsSince1970, user: entry.user, action: entry.action,
                object: entry.object, old: entry.old, new: entry.new, reason: entry.reason, record: entry.record,
                prev: entry.prev)
            if hash != entry.hash {
                problems.append("audit entry \(entry.seq) (\(entry.action) \(entry.object), \(UTCTime.format(entry.time))) was changed: its content does not match its hash")
            }
            if entry.action == "daemon_started" || entry.action == "daemon_stopped",
                let new = entry.new, let anchor = try? AuditJSON.decode(SealAnchor.self, new), anchor.seal > 0
            {
                anchors.append((entry.seq, anchor.seal, anchor.sealHash))
            }
            expectedSeq = entry.seq + 1
            prev = entry.hash
        }
        // A seal moved to a month archive is checked there (`ArchiveCheck`), unless the archive is
        // read with the live store as one (a lot report's views).
        let archived = try ArchivedHeads.seal(db).id
        for anchor in anchors {
            let hash = try String.fetchOne(db, sql: "SELECT hash FROM reading_seal WHERE id = ?", arguments: [anchor.seal])
            if hash == nil && anchor.seal <= archived { continue }
            if hash != anchor.hash {
                problems.append("reading seal \(anchor.seal), recorded by audit entry \(anchor.seq), \(hash == nil ? "is missing (deleted)" : "does not match the hash recorded then")")
            }
        }
    }

    /// Row ranges covering every reading, split only where one seal's rows end and another's
    /// begin, so that scanning them apart finds what one scan would.
    static func rowRanges(_ db: Database, parts: Int, splitAbove: Int64) throws -> [ClosedRange<Int64>] {
        // Each table's key: `reading` is a view over two (`RecentTablesMigration`).
        guard let first = try RecentMove.minRowid(db) else { return [] }
        let last = try RecentMove.maxRowid(db)
        var starts = [first]
        if parts > 1, last - first >= splitAbove {
            let statement = try db.makeStatement(sql: "SELECT rowid, seal FROM reading WHERE rowid >= ? ORDER BY rowid LIMIT 200000")
            for part in 1..<parts {
                let middle = first + (last - first) * Int64(part) / Int64(parts)
                guard middle > starts.last! else { continue }
                statement.arguments = [middle]
                let cursor = try Row.fetchCursor(statement)
                var previous: Int64?
                while let row = try cursor.next() {
                    let seal: Int64? = row[1]
                    if let seal, let before = previous, seal != before {
                        starts.append(row[0])
                        break
                    }
                    previous = seal
                }
            }
        }
        return starts.indices.map { index in
            starts[index]...(index + 1 < starts.count ? starts[index + 1] - 1 : last)
        }
    }

    // MARK: Lots and deviations against the trail

    static func checkRecords(_ db: Database, _ report: inout Report, _ problems: inout [String]) throws {
        var latest: [String: (seq: Int64, new: String?)] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT record, seq, new FROM audit WHERE record IS NOT NULL ORDER BY seq") {
            latest[row[0]] = (row[1], row[2])
        }
        var seen: Set<String> = []
        for event in try LotEvent.fetchAll(db) {
            report.lotEvents += 1
            let record = "lot_event:\(event.id)"
            seen.insert(record)
            guard let audited = latest[record] else {
                problems.append("lot event \(event.id) (\(event.action.rawValue) \(event.lot)) has no audit entry (inserted behind the daemon's back)")
                continue
            }
            if audited.new != AuditJSON.encode(event) {
                problems.append("lot event \(event.id) (\(event.action.rawValue) \(event.lot)) was changed: it does not match audit entry \(audited.seq)")
            }
        }
        for row in try Row.fetchAll(db, sql: "SELECT id, record, state, device, start FROM deviation ORDER BY id") {
            report.deviations += 1
            let id: String = row[0]
            let record = "deviation:\(id)"
            seen.insert(record)
            guard let audited = latest[record] else {
                problems.append("deviation \(id) has no audit entry (inserted behind the daemon's back)")
                continue
            }
            let stored: String = row[1]
            let parsed = try? AuditJSON.decode(DeviationRecord.self, stored)
            if audited.new != stored || parsed?.state.rawValue != row[2] || parsed?.device != row[3]
                || parsed?.start != row[4]
            {
                problems.append("deviation \(id) was changed: it does not match audit entry \(audited.seq)")
            }
        }
        for archive in try MonthArchive.fetchAll(db) {
            seen.insert(archive.record)
            guard let audited = latest[archive.record] else {
                problems.append("month archive \(archive.month) (\(archive.file)) has no audit entry (recorded behind the daemon's back)")
                continue
            }
            if audited.new != AuditJSON.encode(archive) {
                problems.append("the store's record of month archive \(archive.month) was changed: it does not match audit entry \(audited.seq)")
            }
        }
        report.signatures = try SignatureCheck.check(db, latest: latest, seen: &seen, &problems)
        try checkNotify(db, latest: latest, &report, &problems, seen: &seen)
        for (record, audited) in latest.sorted(by: { $0.value.seq < $1.value.seq }) where !seen.contains(record) {
            let name = record.replacingOccurrences(of: "_", with: " ").replacingOccurrences(of: ":", with: " ")
            problems.append("\(name) is missing (deleted): audit entry \(audited.seq) recorded it")
        }
    }
}

extension AuditVerifier {
    /// Alarms and notification attempts against the trail: each row must be what its last audit
    /// entry recorded (a deleted row is named by `checkRecords`, from the entry that recorded it).
    static func checkNotify(
        _ db: Database, latest: [String: (seq: Int64, new: String?)], _ report: inout Report, _ problems: inout [String],
        seen: inout Set<String>
    ) throws {
        // A store from before notifications (migrated no further) has neither table.
        guard try db.tableExists("alarm"), try db.tableExists("notification") else { return }
        for row in try Row.fetchAll(db, sql: "SELECT id, record, state, deviation, raised FROM alarm ORDER BY raised, id") {
            report.alarms += 1
            let id: String = row[0]
            let record = AlarmBook.record(id)
            seen.insert(record)
            guard let audited = latest[record] else {
                problems.append("alarm \(id) has no audit entry (inserted behind the daemon's back)")
                continue
            }
            let stored: String = row[1]
            let parsed = try? AuditJSON.decode(AlarmRecord.self, stored)
            if audited.new != stored || parsed?.state.rawValue != row[2] || parsed?.deviation != row[3] || parsed?.raised != row[4] {
                problems.append("alarm \(id) was changed: it does not match audit entry \(audited.seq)")
            }
        }
        let rows = try Row.fetchCursor(db, sql: "SELECT * FROM notification ORDER BY id")
        while let row = try rows.next() {
            report.notifications += 1
            let stored = NotificationLog.attempt(row)
            let id = stored.id ?? 0
            let record = NotificationLog.record(id)
            seen.insert(record)
            let name = "notification \(id) (\(TerminalText.escape(stored.channel)), \(UTCTime.format(stored.time)))"
            guard let audited = latest[record] else {
                problems.append("\(name) has no audit entry (inserted behind the daemon's back)")
                continue
            }
            // The row keeps the time in milliseconds; the entry, as the attempt had it.
            var recorded = audited.new.flatMap { try? AuditJSON.decode(NotificationAttempt.self, $0) }
            if let time = recorded?.time { recorded?.time = Date(millisecondsSince1970: time.millisecondsSince1970) }
            if recorded != stored {
                problems.append("\(name) was changed: it does not match audit entry \(audited.seq)")
            }
        }
    }
}

/// The head of the reading seals, recorded in the audit trail at each start and stop, so that
/// deleting the newest seals with their readings is detected too.
package struct SealAnchor: Codable {
    package var seal: Int64
    package var sealHash: String
    var pid: Int32?
    var site: String?
    var readingsWritten: Int?

    package init(seal: Int64, sealHash: String, pid: Int32? = nil, site: String? = nil, readingsWritten: Int? = nil) {
        self.seal = seal
        self.sealHash = sealHash
        self.pid = pid
        self.site = site
        self.readingsWritten = readingsWritten
    }
}
