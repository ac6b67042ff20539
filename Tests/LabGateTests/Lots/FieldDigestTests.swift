import Foundation
import Testing
@testable import LabGate

/// Seals and audit hashes already stored must keep verifying: the digest's bytes are fixed. The
/// expected hashes were computed outside Swift (Python's hashlib) from the format: each present
/// field as "<UTF-8 byte count>:<UTF-8 bytes>", an absent one as "-;", integers in decimal,
/// doubles as their bit pattern in lowercase hex without leading zeros.
struct FieldDigestTests {
    @Test func aReadingsFieldsHashAsDocumented() {
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

    @Test func integersAreDecimalWithTheirSign() {
        var digest = FieldDigest()
        for number in [Int64(0), -42, .min, .max] { digest.add(number) }
        #expect(digest.hex() == "ea7f35446f7bc761753f357b876eca98c4d3126219b6ef8d962c2ff660b5d284")
    }

    @Test func doublesAreTheirExactBits() {
        var digest = FieldDigest()
        for value in [0.0, -0.0, Double.nan, 1e-300, -273.15] { digest.add(value) }
        #expect(digest.hex() == "8d74f0eacae4302e26ab23b15213881bea32bb27b5498ede5609800f98f715be")
    }

    @Test func textIsCountedInUTF8Bytes() {
        var digest = FieldDigest()
        digest.add("")
        digest.add("°C")
        digest.add("timeout: no reply within 1 s")
        digest.add(nil as Int64?)
        #expect(digest.hex() == "adcfe7dbe7f7706fffe572f6de3c280e5795bdec2011f1e7f02a53ce752b2a00")
    }
}
