import Foundation
import GRDB
import LabGate

extension LotReport {
    /// The store at `path` opened for a report of `lot`: with the month archives from the lot's
    /// first recorded month on read as part of it (`ArchiveViews`), so a report of a lot whose
    /// months were archived is the report it was before they moved.
    public static func openStore(forLot lot: String, path: String) throws(StartupError) -> ReadingStore {
        let plain = try ReadingStore(readingExisting: path)
        let first: Int64?
        do {
            first = try plain.pool.read { db in
                try Int64.fetchOne(db, sql: "SELECT min(min(time, coalesce(effective, time))) FROM lot_event WHERE lot = ?", arguments: [lot])
            }
        } catch {
            throw StartupError("cannot read the lot events of \(path): \(error)")
        }
        guard let first, let views = try ArchiveViews.from(month: MonthText.month(of: first), storePath: path) else { return plain }
        return try ReadingStore(readingExisting: path, archives: views)
    }
}
