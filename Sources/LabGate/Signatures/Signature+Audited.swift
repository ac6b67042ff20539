extension Signature {
    /// The signature a `signed` audit entry carries (its new value), as the signature table
    /// would hold it: for a record whose signature table is not at hand (the site store keeps the
    /// gateways' audit trails, not their signature tables). nil for an entry that carries none.
    package static func audited(seq: Int64, action: String, new: String?) -> Signature? {
        guard action == "signed", let new, var signature = try? AuditJSON.decode(Carried.self, new).signature else { return nil }
        signature.auditSeq = seq
        return signature
    }
}
