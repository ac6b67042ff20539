/// `signatures:` which acts need an electronic signature (the signer's password, checked through
/// PAM). All four when the config sets `roles:` and says nothing else, none without roles (then
/// who may act is not configured either).
public struct SignatureSettings: Sendable, Hashable {
    public var require: Set<SignedAction>

    public init(require: Set<SignedAction> = []) {
        self.require = require
    }

    public func requires(_ action: SignedAction) -> Bool { require.contains(action) }
}
