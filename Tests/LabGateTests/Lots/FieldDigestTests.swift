import Crypto
import Foundation
import Testing
@testable import LabGate

/// The field encoding as first defined: `<length>:<text>`, `-;` for a missing value, integers
/// in decimal, doubles as the hexadecimal text of their bits. Built here with Foundation's own
/// number formatting, independently of FieldDigest's byte writer.
private func reference(_ fields: [Any?]) -> String {
    var bytes: [UInt8] = []
    for field in fields {
        let text: String?
        switch field {
        case let value as String: text = value
        case let value as Int64: text = String(value)
        case let value as Double: text = String(value.bitPattern, radix: 16)
        default: text = nil
        }
        if let text {
            bytes += Array("\(text.utf8.count):".utf8) + Array(text.utf8)
        } else {
            bytes += Array("-;".utf8)
        }
    }
    return SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
}

private func digest(_ fields: [Any?]) -> String {
    var digest = FieldDigest()
    for field in fields {
        switch field {
        case let value as String: digest.add(value)
        case let value as Int64: digest.add(value)
        case let value as Double: digest.add(value)
        default: digest.add(nil as String?)
        }
    }
    return digest.hex()
}

@Suite("field digest")
struct FieldDigestTests {
    @Test("seals written by earlier versions still verify: the bytes hashed are exactly the first encoding")
    func encodingIsStable() {
        let fields: [Any?] = [
            "INC-01", "co2", Int64(1_800_000_000_123), 37.5, "good", nil, "LOT-1,LOT-2", "", Int64(0), Int64(-42),
            Int64.min, Int64.max, 0.0, -0.0, Double.nan, -Double.infinity, 1e-300, "°C ünïcode", Int64(9), Int64(10),
        ]
        #expect(digest(fields) == reference(fields))
        #expect(digest([]) == reference([]))
    }

    @Test("a digest over more fields than one hashing chunk matches the encoding, and field boundaries count")
    func longAndAmbiguous() {
        let fields: [Any?] = (0..<20_000).map { i -> Any? in
            switch i % 4 {
            case 0: "INC-\(i)"
            case 1: Int64(i) * 1_000_003
            case 2: Double(i) / 7
            default: nil
            }
        }
        #expect(digest(fields) == reference(fields))
        #expect(digest(["ab", "c"]) != digest(["a", "bc"]))
        #expect(digest([nil]) != digest([""]))
    }

    @Test("pre-encoded fields hash like the same fields added one by one")
    func encodedFields() {
        var one = FieldDigest()
        one.add(encoded: FieldDigest.encoded("INC-01", "co2"))
        one.add(Int64(5))
        one.add(encoded: FieldDigest.encoded(nil))
        #expect(one.hex() == reference(["INC-01", "co2", Int64(5), nil]))
    }
}
