import Foundation

/// One anchor: where the record ended at a moment, written by the daemon outside the store (the
/// systemd journal, an append-only file) so that deleting the newest rows of the store, which
/// leaves every remaining hash intact, is still seen: `audit verify` finds the store ending
/// before an anchor, or holding other rows where an anchor named them.
public struct Anchor: Sendable, Equatable {
    public var time: Date
    public var site: String
    /// The store's path as the daemon opened it: one host may run several daemons.
    public var store: String
    /// Why it was written: `periodic`, `started`, `stopped`, `lot`, `deviation`, `record_tampered`.
    public var reason: String
    public var pid: Int32
    public var heads: ChainHeads

    public init(time: Date, site: String, store: String, reason: String, pid: Int32, heads: ChainHeads) {
        self.time = time
        self.site = site
        self.store = store
        self.reason = reason
        self.pid = pid
        self.heads = heads
    }

    /// The fields, by the names both sinks use (the journal's in capitals with `LABGATE_`).
    var fields: [(String, String)] {
        [
            ("time", UTCTime.format(time)), ("site", site), ("store", store), ("reason", reason), ("pid", String(pid)),
            ("audit_seq", String(heads.auditSeq)), ("audit_hash", heads.auditHash),
            ("seal_seq", String(heads.sealSeq)), ("seal_hash", heads.sealHash),
            ("lot_events", String(heads.lotEvents)), ("deviations", String(heads.deviations)),
        ]
    }

    /// One line of the anchor file: a JSON object, keys in a fixed order, numbers as numbers.
    public var jsonLine: String {
        let numbers: Set<String> = ["pid", "audit_seq", "seal_seq", "lot_events", "deviations"]
        let members = fields.map { key, value in "\"\(key)\":" + (numbers.contains(key) ? value : Self.quoted(value)) }
        return "{" + members.joined(separator: ",") + "}\n"
    }

    /// The journal entry's fields (`journalctl -o json LABGATE_ANCHOR=1` finds it).
    public var journalFields: [(String, String)] {
        [
            ("MESSAGE", "labgate anchor (\(reason)): \(heads.summary), \(heads.lotEvents) lot events, \(heads.deviations) deviations"),
            ("PRIORITY", "6"), ("SYSLOG_IDENTIFIER", "labgated"), ("LABGATE_ANCHOR", "1"),
        ] + fields.filter { $0.0 != "time" && $0.0 != "pid" }.map { ("LABGATE_" + $0.0.uppercased(), $0.1) }
            + [("LABGATE_TIME", UTCTime.format(time))]
    }

    /// Reads a line of the anchor file or a `journalctl -o json` entry (field names either way).
    public init?(fields: [String: String], journalTime: Date? = nil) {
        func value(_ key: String) -> String? { fields[key] ?? fields["LABGATE_" + key.uppercased()] }
        guard let store = value("store"), let auditSeq = value("audit_seq").flatMap(Int64.init),
            let auditHash = value("audit_hash"), let sealSeq = value("seal_seq").flatMap(Int64.init),
            let sealHash = value("seal_hash"), let time = value("time").flatMap(UTCTime.parse) ?? journalTime
        else { return nil }
        self.init(
            time: time, site: value("site") ?? "", store: store, reason: value("reason") ?? "",
            pid: value("pid").flatMap(Int32.init) ?? fields["_PID"].flatMap(Int32.init) ?? 0,
            heads: ChainHeads(
                auditSeq: auditSeq, auditHash: auditHash, sealSeq: sealSeq, sealHash: sealHash,
                lotEvents: value("lot_events").flatMap(Int64.init) ?? 0,
                deviations: value("deviations").flatMap(Int64.init) ?? 0))
    }

    /// A JSON object of one line (strings and numbers only, as `jsonLine` writes and journalctl
    /// prints) as text fields; nil when it is not one.
    public static func parseObject(_ line: Substring) -> [String: String]? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
        var fields: [String: String] = [:]
        for (key, value) in object {
            if let text = value as? String {
                fields[key] = text
            } else if let number = value as? NSNumber {
                fields[key] = number.stringValue
            }
        }
        return fields
    }

    private static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
