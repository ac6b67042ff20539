import Foundation

/// One line of the audit trail: who did what to which object, when (UTC), the values before and
/// after, why, and the hash of the entry before it.
public struct AuditEntry: Sendable, Codable, Hashable {
    public var seq: Int64
    /// UTC, milliseconds.
    public var time: Date
    /// The user name the kernel gave for the request's peer, or the daemon's own user.
    public var user: String
    /// e.g. `lot_start`, `deviation_opened`, `refused`, `config_loaded`, `daemon_started`.
    public var action: String
    /// e.g. `lot MSC-AT-0042`, `deviation DEV-2026-0007`, `config /etc/labgate/labgate.yaml`.
    public var object: String
    /// JSON of the value before (nil when the action created it).
    public var old: String?
    /// JSON of the value after.
    public var new: String?
    public var reason: String?
    /// The stored row this entry describes, e.g. `deviation:DEV-2026-0007` or `lot_event:12`; the
    /// row must equal `new` of the last entry naming it.
    public var record: String?
    public var prev: String
    public var hash: String

    /// What a caller supplies; sequence number, time and hashes are the trail's.
    public struct Draft: Sendable {
        public var user: String
        public var action: String
        public var object: String
        public var old: String?
        public var new: String?
        public var reason: String?
        public var record: String?

        public init(
            user: String, action: String, object: String, old: String? = nil, new: String? = nil,
            reason: String? = nil, record: String? = nil
        ) {
            self.user = user
            self.action = action
            self.object = object
            self.old = old
            self.new = new
            self.reason = reason
            self.record = record
        }
    }

    /// The hash of an entry: every field but the hash itself, in a fixed order.
    package static func hash(
        seq: Int64, time: Int64, user: String, action: String, object: String, old: String?, new: String?,
        reason: String?, record: String?, prev: String
    ) -> String {
        var digest = FieldDigest()
        digest.add(seq)
        digest.add(time)
        digest.add(user)
        digest.add(action)
        digest.add(object)
        digest.add(old)
        digest.add(new)
        digest.add(reason)
        digest.add(record)
        digest.add(prev)
        return digest.hex()
    }
}

/// Canonical JSON for audit values: sorted keys, so the same value always has the same text.
package enum AuditJSON {
    package static func encode<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(value)) ?? Data("null".utf8), as: UTF8.self)
    }

    /// The text `encode(Array(values))` gives, built one element at a time: JSONEncoder holds
    /// a whole tree of the value it encodes, so a large array (the deviation engine's 1000
    /// channel states every 5 s) cost ~2 MB at once for a ~0.3 MB text (BENCHMARKS.md, scale).
    package static func encodeArray<S: Sequence>(_ values: S) -> String where S.Element: Encodable {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var text: [UInt8] = [UInt8(ascii: "[")]
        for value in values {
            guard let element = try? encoder.encode(value) else { return "null" }
            if text.count > 1 { text.append(UInt8(ascii: ",")) }
            text.append(contentsOf: element)
        }
        text.append(UInt8(ascii: "]"))
        return String(decoding: text, as: UTF8.self)
    }

    package static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }
}
