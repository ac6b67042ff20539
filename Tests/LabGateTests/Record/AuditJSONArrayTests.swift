import Foundation
import Testing
@testable import LabGate

/// The deviation engine's saved state is encoded one channel at a time (to keep its peak memory
/// small); a restart and the audit trail read it as the text of the whole array, so the two
/// encodings must give the same text, byte for byte.
struct AuditJSONArrayTests {
    struct Sample: Codable {
        var name: String
        var value: Double?
        var lots: [String]
        var nested: [String: Int]
    }

    static let samples = [
        Sample(name: "INC-01/co2", value: 4.5, lots: ["LOT-A", "LOT-B"], nested: ["b": 2, "a": 1]),
        Sample(name: "quote \" and ünïcødé", value: nil, lots: [], nested: [:]),
        Sample(name: "", value: 0.003333333333333336, lots: ["x"], nested: ["z": -1]),
    ]

    @Test("an array encoded one element at a time is the same text as the array encoded whole")
    func sameTextAsWhole() {
        #expect(AuditJSON.encodeArray(Self.samples) == AuditJSON.encode(Self.samples))
        #expect(AuditJSON.encodeArray(Self.samples.prefix(1)) == AuditJSON.encode(Array(Self.samples.prefix(1))))
        #expect(AuditJSON.encodeArray([Sample]()) == AuditJSON.encode([Sample]()))
    }

    @Test("an array encoded one element at a time decodes to the values it was made of")
    func decodesBack() throws {
        let decoded = try AuditJSON.decode([Sample].self, AuditJSON.encodeArray(Self.samples))
        #expect(decoded.map(\.name) == Self.samples.map(\.name))
        #expect(decoded.map(\.value) == Self.samples.map(\.value))
        #expect(decoded.map(\.nested) == Self.samples.map(\.nested))
    }
}
