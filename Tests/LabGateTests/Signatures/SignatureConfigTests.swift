import Testing
@testable import LabGate

private typealias F = ConfigFixtures

private func parse(_ insert: String) throws -> Config {
    try ConfigLoader.parse(yaml: F.base(replacing: "store: lab.sqlite\n", with: "store: lab.sqlite\n" + insert), file: "lab.yaml")
}

@Suite("config: signatures")
struct SignatureConfigTests {
    @Test("without roles no act needs a signature; with roles all four do unless signatures: names them")
    func defaults() throws {
        #expect(try parse("").signatures.require.isEmpty)
        let all: Set<SignedAction> = [.ack, .close, .correct, .approve]
        #expect(try parse("roles: { operators: [ops], qa: [qa] }\n").signatures.require == all)
        #expect(try parse("roles: { operators: [ops] }\nsignatures: { require: [close, approve] }\n").signatures.require == [.close, .approve])
        #expect(try parse("roles: { operators: [ops] }\nsignatures: { require: [] }\n").signatures.require.isEmpty)
        #expect(try parse("signatures: { require: [ack] }\n").signatures.require == [.ack])
    }

    @Test("an unknown act and an unknown key are refused at their line and column")
    func unknownAct() {
        #expect(F.messages(F.base(replacing: "store: lab.sqlite\n", with: "store: lab.sqlite\nsignatures: { require: [ack, sign] }\n")) == [
            "lab.yaml:3:30: signatures, require: unknown act 'sign' (expected one of: ack, close, correct, approve)"
        ])
        #expect(F.messages(F.base(replacing: "store: lab.sqlite\n", with: "store: lab.sqlite\nsignatures: { required: [ack] }\n")) == [
            "lab.yaml:3:13: signatures: missing key 'require'",
            "lab.yaml:3:15: signatures: unknown key 'required' (expected one of: require)",
        ])
    }
}
