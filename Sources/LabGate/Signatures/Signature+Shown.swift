import Foundation
import GRDB

/// Signatures as people are shown them (21 CFR 11.50: printed name, date and time, meaning), and
/// the signatures that belong to what they look at.
extension Signature {
    /// "Alice Smith (alice)", or the user alone when NSS had no full name.
    public var printedName: String {
        fullName.isEmpty || fullName == user ? user : "\(fullName) (\(user))"
    }

    /// The signatures on some subjects of one kind, in the order they were made; none on a store
    /// written before signatures.
    public static func on(_ kind: SignatureSubject.Kind, _ subjects: [String], db: Database) throws -> [Signature] {
        guard !subjects.isEmpty, try db.tableExists("signature") else { return [] }
        let marks = Array(repeating: "?", count: subjects.count).joined(separator: ",")
        return try Row.fetchAll(
            db, sql: "SELECT * FROM signature WHERE subject_kind = ? AND subject IN (\(marks)) ORDER BY id",
            arguments: StatementArguments([kind.rawValue] + subjects)
        ).map(Signature.init(row:))
    }

    /// Every signature that belongs to a lot's record, the deviations naming it read from the store.
    public static func ofLot(_ lot: String, db: Database) throws -> [Signature] {
        let deviations = try String.fetchAll(db, sql: "SELECT record FROM deviation")
            .compactMap { try? AuditJSON.decode(DeviationRecord.self, $0) }
            .filter { $0.lots.contains(lot) }.map(\.id)
        return try ofLot(lot, deviations: deviations, db: db)
    }

    /// Every signature that belongs to a lot's record: on the lot itself, on the deviations
    /// naming it, and any other that names the lot (an alarm's acknowledgement, a correction).
    public static func ofLot(_ lot: String, deviations: [String], db: Database) throws -> [Signature] {
        guard try db.tableExists("signature") else { return [] }
        let marks = Array(repeating: "?", count: deviations.count).joined(separator: ",")
        let naming = deviations.isEmpty ? "" : " OR (subject_kind = 'deviation' AND subject IN (\(marks)))"
        return try Row.fetchAll(
            db, sql: "SELECT * FROM signature WHERE lot = ? OR (subject_kind = 'lot' AND subject = ?)\(naming) ORDER BY id",
            arguments: StatementArguments([lot, lot] + deviations)
        ).map(Signature.init(row:))
    }
}
