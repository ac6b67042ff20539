import Foundation
import GRDB
import LabGate
import Logging
import PostgresNIO

/// `labgate audit verify --site`: each gateway's audit and seal chains as the site store holds
/// them (numbered from 1 without gaps, each row naming the hash of the one before, each hash
/// recomputed, the newest anchor matching its row), and this gateway's local store against
/// them: a store cut or rewritten after forwarding no longer holds what the site confirmed.
public enum SiteChainCheck {
    public struct Report: Sendable {
        /// Per gateway: how many audit entries and seals the site holds for it.
        public var gateways: [(id: String, audit: Int64, seals: Int64)] = []
        public var findings: [String] = []
        public var ok: Bool { findings.isEmpty }
    }

    static let zeros = String(repeating: "0", count: 64)

    public static func verify(_ connection: PostgresConnection, gateway local: String?, store: ReadingStore?, logger: Logger) async throws -> Report {
        var report = Report()
        let gateways = try await connection.query("SELECT id FROM gateway ORDER BY id", logger: logger)
        var ids: [String] = []
        for try await id in gateways.decode(String.self) { ids.append(id) }
        for id in ids {
            var audit = (count: Int64(0), last: zeros, heads: [Int64: String]())
            let rows = try await connection.query(
                """
                SELECT seq, (extract(epoch FROM time) * 1000)::bigint, "user", action, object, old, new, reason, record, prev, hash
                FROM audit WHERE gateway = \(id) ORDER BY seq
                """, logger: logger)
            for try await (seq, time, user, action, object, old, new, reason, record, prev, hash) in rows.decode(
                (Int64, Int64, String, String, String, String?, String?, String?, String?, String, String).self)
            {
                if seq != audit.count + 1 { report.findings.append("gateway \(id): audit entry \(audit.count + 1) is missing at the site (next is \(seq))") }
                if prev != audit.last { report.findings.append("gateway \(id): audit entry \(seq) does not follow the one before (prev \(prev.prefix(12))…)") }
                let expected = AuditEntry.hash(
                    seq: seq, time: time, user: user, action: action, object: object, old: old, new: new, reason: reason,
                    record: record, prev: prev)
                if expected != hash { report.findings.append("gateway \(id): audit entry \(seq) was changed at the site (its hash does not match its fields)") }
                audit = (seq, hash, audit.heads)
                audit.heads[seq] = hash
            }
            var seals = (count: Int64(0), last: zeros, heads: [Int64: String]())
            let sealRows = try await connection.query(
                """
                SELECT id, (extract(epoch FROM time) * 1000)::bigint, count, digest, prev, hash, format::bigint
                FROM reading_seal WHERE gateway = \(id) ORDER BY id
                """, logger: logger)
            for try await (sealID, time, count, digest, prev, hash, format) in sealRows.decode(
                (Int64, Int64, Int64, String, String, String, Int64?).self)
            {
                if sealID != seals.count + 1 { report.findings.append("gateway \(id): seal \(seals.count + 1) is missing at the site (next is \(sealID))") }
                if prev != seals.last { report.findings.append("gateway \(id): seal \(sealID) does not follow the one before") }
                if ReadingSeal.hash(id: sealID, time: time, count: Int(count), digest: digest, prev: prev, format: format) != hash {
                    report.findings.append("gateway \(id): seal \(sealID) was changed at the site (its hash does not match its fields)")
                }
                seals = (sealID, hash, seals.heads)
                seals.heads[sealID] = hash
            }
            let anchors = try await connection.query(
                "SELECT audit_seq, audit_hash, seal_id, seal_hash FROM anchor WHERE gateway = \(id) ORDER BY batch DESC LIMIT 1",
                logger: logger)
            for try await (auditSeq, auditHash, sealID, sealHash) in anchors.decode((Int64?, String?, Int64?, String?).self) {
                if let auditSeq, let auditHash, audit.heads[auditSeq] != auditHash {
                    report.findings.append("gateway \(id): the site's newest anchor names audit entry \(auditSeq) (\(auditHash.prefix(12))…), which the site no longer holds as anchored")
                }
                if let sealID, let sealHash, seals.heads[sealID] != sealHash {
                    report.findings.append("gateway \(id): the site's newest anchor names seal \(sealID) (\(sealHash.prefix(12))…), which the site no longer holds as anchored")
                }
            }
            report.gateways.append((id, audit.count, seals.count))
            if id == local, let store {
                report.findings += try await compare(store, gateway: id, audit: audit.heads, seals: seals.heads)
            }
        }
        if let local, !ids.contains(local) { report.findings.append("gateway \(local) has forwarded nothing to the site store yet") }
        return report
    }

    /// The local store against what the site confirmed: every audit entry and seal the site holds
    /// must be in the store with the same hash.
    private static func compare(_ store: ReadingStore, gateway: String, audit: [Int64: String], seals: [Int64: String]) async throws -> [String] {
        let local = try await store.pool.read { db in
            var seals = try [Int64: String](uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT id, hash FROM reading_seal").map { ($0[0], $0[1]) })
            // Seals moved to month archives: the last of them stands for them (`audit verify` checks the files).
            let archived = try ArchivedHeads.seal(db)
            if archived.id > 0 { seals[archived.id] = archived.hash }
            return (try [Int64: String](uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT seq, hash FROM audit").map { ($0[0], $0[1]) }), seals)
        }
        var findings: [String] = []
        let siteAudit = audit.keys.max() ?? 0
        let localAudit = local.0.keys.max() ?? 0
        if localAudit < siteAudit {
            findings.append("gateway \(gateway): the local store ends at audit entry \(localAudit), but the site store holds up to \(siteAudit): the local store was cut after forwarding")
        }
        let siteSeals = seals.keys.max() ?? 0
        let localSeals = local.1.keys.max() ?? 0
        if localSeals < siteSeals {
            findings.append("gateway \(gateway): the local store ends at seal \(localSeals), but the site store holds up to \(siteSeals): the local store was cut after forwarding")
        }
        if let first = audit.keys.sorted().first(where: { local.0[$0] != nil && local.0[$0] != audit[$0] }) {
            findings.append("gateway \(gateway): audit entry \(first) differs between the local store and the site store: one was rewritten")
        }
        if let first = seals.keys.sorted().first(where: { local.1[$0] != nil && local.1[$0] != seals[$0] }) {
            findings.append("gateway \(gateway): seal \(first) differs between the local store and the site store: one was rewritten")
        }
        return findings
    }
}
