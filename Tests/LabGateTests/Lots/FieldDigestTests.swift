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

    // Vectors computed outside Swift (Python's hashlib) from the documented format.

    @Test("A reading's fields hash to the documented digest") func aReadingsFieldsHashAsDocumented() {
        var digest = FieldDigest()
        digest.add("INC-01")
        digest.add("temperature")
        digest.add(Int64(1_800_000_000_123))
        digest.add(37.25)
        digest.add("good")
        digest.add(nil as String?)
        digest.add("LOT-1,LOT-2")
        #expect(digest.hex() == "259b1d76c98bdf911e41942aae18929e92c3a85fc7e6d52c3cdebb2b445f8ec6")
    }

    @Test("Integers are hashed as decimal text with their sign") func integersAreDecimalWithTheirSign() {
        var digest = FieldDigest()
        for number in [Int64(0), -42, .min, .max] { digest.add(number) }
        #expect(digest.hex() == "ea7f35446f7bc761753f357b876eca98c4d3126219b6ef8d962c2ff660b5d284")
    }

    @Test("Doubles are hashed as their exact bits, signed zero and NaN included") func doublesAreTheirExactBits() {
        var digest = FieldDigest()
        for value in [0.0, -0.0, Double.nan, 1e-300, -273.15] { digest.add(value) }
        #expect(digest.hex() == "8d74f0eacae4302e26ab23b15213881bea32bb27b5498ede5609800f98f715be")
    }

    @Test("Text is hashed after its length in UTF-8 bytes") func textIsCountedInUTF8Bytes() {
        var digest = FieldDigest()
        digest.add("")
        digest.add("°C")
        digest.add("timeout: no reply within 1 s")
        digest.add(nil as Int64?)
        #expect(digest.hex() == "adcfe7dbe7f7706fffe572f6de3c280e5795bdec2011f1e7f02a53ce752b2a00")
    }
}
