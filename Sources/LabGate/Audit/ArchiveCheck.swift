import Foundation
import GRDB

/// The month archives checked with the live store as one record (`MonthArchiver`): each file the
/// store records must be there, not writable by others, with the SHA-256 recorded when it was
/// moved, hold the month it is named for, and re-hash: its seals chained from the archive before
/// (the first from nothing), every reading against its seal, each series' entries chained across
/// files; the live store's chains continue from the last file's heads.
enum ArchiveCheck {
    struct FileResult {
        var problems: [String] = []
        var readings: Int64 = 0
        var seals: Int64 = 0
        var entries: Int64 = 0
        var end: (id: Int64, hash: String) = (0, FieldDigest.zero)
        /// Each series' last entry, from the start's heads on; nil when not known.
        var seriesEnd: [Int64: String]?
    }

    /// One archive file on its own, its chains following `sealStart` and `seriesStart`.
    static func checkFile(_ path: String, sealStart: (id: Int64, hash: String), seriesStart: [Int64: String]?) throws -> FileResult {
        let queue = try DatabaseQueue(path: path, configuration: MonthArchiver.readOnly)
        defer { try? queue.close() }
        return try queue.read { db in
            var result = FileResult()
            let layout = try SealLayout(db)
            let rows = try SealedRows(db: db)
            result.seals = Int64(try SealChain.check(db, layout: layout, &result.problems, start: sealStart))
            try SealChain.checkSeriesChains(db, layout: layout, rows: rows, &result.problems, heads: seriesStart)
            if let bounds = try Row.fetchOne(db, sql: "SELECT min(rowid), max(rowid) FROM reading"),
                let low = bounds[0] as Int64?, let high = bounds[1] as Int64?
            {
                let scan = try SealScan.scan(db, rows: rows, layout: layout, range: low...high)
                result.problems += scan.problems
                result.readings = Int64(scan.readings)
            }
            result.entries = try Int64.fetchOne(db, sql: "SELECT count(*) FROM seal_series") ?? 0
            result.end = try ReadingSeal.head(db: db)
            if var heads = seriesStart {
                for row in try Row.fetchAll(db, sql: "SELECT series, hash FROM seal_series AS s WHERE seal = (SELECT max(seal) FROM seal_series WHERE series = s.series)") {
                    heads[row[0]] = row[1]
                }
                result.seriesEnd = heads
            }
            return result
        }
    }

    /// Every archive the live store records, in order, and the live store's heads after them.
    /// Returns the problems, and the seals and readings the archives hold.
    static func check(_ store: ReadingStore) throws -> (problems: [String], seals: Int, readings: Int) {
        let (archives, heads, anchors) = try store.pool.read { db in
            (try MonthArchive.fetchAll(db), try ArchivedHeads.series(db), try anchorSeals(db))
        }
        guard !archives.isEmpty else { return ([], 0, 0) }
        let folder = MonthArchive.folder(ofStore: store.path)
        var problems: [String] = []
        if let problem = folderProblem(folder) { problems.append(problem) }
        var seal: (id: Int64, hash: String) = (0, FieldDigest.zero)
        var series: [Int64: String]? = [:]
        var seals = 0
        var readings = 0
        for archive in archives {
            let path = (folder as NSString).appendingPathComponent(archive.file)
            let what = "month archive \(path) (\(archive.month): \(archive.readings) readings, seals \(archive.firstSeal)–\(archive.lastSeal))"
            guard FileManager.default.fileExists(atPath: path) else {
                problems.append("\(what) is missing (deleted or moved)")
                seal = (archive.lastSeal, archive.lastSealHash)
                series = nil
                continue
            }
            if let problem = fileProblem(path) { problems.append("\(what): \(problem)") }
            if let sha = try? MonthArchiver.sha256(of: path), sha != archive.sha256 {
                problems.append("\(what) was changed or replaced: its SHA-256 is not the one recorded when it was moved")
            }
            let result: FileResult
            do {
                let info = try DatabaseQueue(path: path, configuration: MonthArchiver.readOnly).read { db in
                    try Row.fetchOne(db, sql: "SELECT month, first_seal, last_seal FROM archive_info")
                }
                if let info, (info[0] as String) != archive.month || (info[1] as Int64) != archive.firstSeal || (info[2] as Int64) != archive.lastSeal {
                    problems.append("\(what) holds month \(info[0] as String) (seals \(info[1] as Int64)–\(info[2] as Int64)), not the one the store recorded (swapped)")
                }
                result = try checkFile(path, sealStart: seal, seriesStart: series)
            } catch {
                problems.append("\(what) cannot be read: \(error)")
                seal = (archive.lastSeal, archive.lastSealHash)
                series = nil
                continue
            }
            problems += result.problems.map { "in \(path): \($0)" }
            if result.readings != archive.readings || result.seals != archive.seals || result.entries != archive.entries {
                problems.append("\(what) holds \(result.readings) readings, \(result.seals) seals, \(result.entries) seal entries; \(archive.readings), \(archive.seals), \(archive.entries) were moved")
            }
            if result.end.hash != archive.lastSealHash {
                problems.append("\(what) ends with a seal other than the one recorded when it was moved")
            }
            for anchor in anchors where anchor.seal >= archive.firstSeal && anchor.seal <= archive.lastSeal {
                let hash = try DatabaseQueue(path: path, configuration: MonthArchiver.readOnly).read { db in
                    try String.fetchOne(db, sql: "SELECT hash FROM reading_seal WHERE id = ?", arguments: [anchor.seal])
                }
                if hash != anchor.hash {
                    problems.append("reading seal \(anchor.seal) in \(path), recorded by audit entry \(anchor.seq), \(hash == nil ? "is missing (deleted)" : "does not match the hash recorded then")")
                }
            }
            seals += Int(result.seals)
            readings += Int(result.readings)
            seal = (archive.lastSeal, archive.lastSealHash)
            series = result.seriesEnd
        }
        if let series, series != heads {
            problems.append("the live store's series heads (archive_series_head) are not where the month archives end (changed behind the daemon's back)")
        }
        return (problems, seals, readings)
    }

    /// The seals the audit trail anchored at each start and stop.
    static func anchorSeals(_ db: Database) throws -> [(seq: Int64, seal: Int64, hash: String)] {
        try Row.fetchAll(db, sql: "SELECT seq, new FROM audit WHERE action IN ('daemon_started', 'daemon_stopped') ORDER BY seq").compactMap { row in
            guard let new = row[1] as String?, let anchor = try? AuditJSON.decode(SealAnchor.self, new), anchor.seal > 0 else { return nil }
            return (row[0], anchor.seal, anchor.sealHash)
        }
    }

    /// The archive folder must be the store owner's alone to write: a user who could write it
    /// could replace a file (a replaced file is still found by its hash, but not prevented).
    static func folderProblem(_ folder: String) -> String? {
        var info = stat()
        guard stat(folder, &info) == 0 else { return nil }
        if info.st_mode & 0o022 != 0 {
            return "archive folder \(folder) is writable by others (mode \(String(info.st_mode & 0o777, radix: 8))): make it 0750"
        }
        if info.st_uid != geteuid() && geteuid() != 0 {
            return "archive folder \(folder) belongs to another user (uid \(info.st_uid))"
        }
        return nil
    }

    static func fileProblem(_ path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        if info.st_mode & 0o222 != 0 {
            return "it is writable (mode \(String(info.st_mode & 0o777, radix: 8))), not read-only 0440"
        }
        return nil
    }
}
