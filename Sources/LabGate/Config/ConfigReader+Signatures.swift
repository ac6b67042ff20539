import Yams

extension ConfigReader {
    static let signatureKeys = ["require"]

    /// `signatures: { require: [ack, close, correct, approve] }`: the acts that need the signer's
    /// password (an empty list: none). Without the key: all four when `roles:` is set, else none.
    mutating func readSignatures(_ top: Entries) -> SignatureSettings {
        let byDefault = SignatureSettings(require: top["roles"] == nil ? [] : Set(SignedAction.allCases))
        guard let node = top["signatures"] else { return byDefault }
        guard let map = entries(of: node, keys: Self.signatureKeys, required: ["require"], for: "signatures", in: "signatures"),
            let list = map["require"]
        else { return byDefault }
        if list.isNull { return SignatureSettings() }
        var require: Set<SignedAction> = []
        let known = SignedAction.allCases.map(\.rawValue).joined(separator: ", ")
        for item in items(of: list, for: "the acts that need a signature", in: "signatures, require") ?? [] {
            guard let name = string(item, "an act", in: "signatures, require") else { continue }
            guard let action = SignedAction(rawValue: name) else {
                report("unknown act '\(name)' (expected one of: \(known))", at: item, in: "signatures, require")
                continue
            }
            require.insert(action)
        }
        return SignatureSettings(require: require)
    }
}
