import Foundation
import GRDB

/// Month archives read with the live store as one, for a lot report: each connection attaches
/// the archives and shadows `reading`, `reading_seal` and `seal_series` with temporary views over
/// them and the live tables (`ArchiveTables.views`), so every query reads the lot's whole record
/// as it did before its months moved. SQLite attaches at most 10 databases, the live store one of
/// them: a report reads at most 9 archives (those from the lot's first month on).
public struct ArchiveViews: Sendable {
    public static let most = 9
    let paths: [String]

    /// The archives of the store at `storePath` from `month` ("2026-10", the lot's first) on;
    /// nil when there are none.
    public static func from(month: String, storePath: String) throws(StartupError) -> ArchiveViews? {
        let plain = try ReadingStore(readingExisting: storePath)
        let archives: [MonthArchive]
        do {
            archives = try plain.pool.read { db in try MonthArchive.fetchAll(db) }.filter { $0.month >= month }
        } catch {
            throw StartupError("cannot read the month archives of \(storePath): \(error)")
        }
        guard !archives.isEmpty else { return nil }
        guard archives.count <= most else {
            throw StartupError("the lot spans \(archives.count) archived months of \(storePath); a report reads at most \(most)")
        }
        let folder = MonthArchive.folder(ofStore: storePath)
        let paths = archives.map { (folder as NSString).appendingPathComponent($0.file) }
        for path in paths where !FileManager.default.fileExists(atPath: path) {
            throw StartupError("month archive \(path) is missing (run labgate audit verify)")
        }
        return ArchiveViews(paths: paths)
    }

    func attach(_ db: Database) throws {
        var schemas: [String] = []
        for (index, path) in paths.enumerated() {
            let schema = "archive\(index)"
            try db.execute(sql: "ATTACH DATABASE ? AS \(schema)", arguments: [path])
            schemas.append(schema)
        }
        for sql in ArchiveTables.views(over: schemas) { try db.execute(sql: sql) }
    }
}

/// Months as archives name them.
public enum MonthText {
    /// "2026-10" for a time in UTC ms.
    public static func month(of ms: Int64) -> String { MonthArchive.month(of: ms) }
}
