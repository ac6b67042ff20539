import Crypto
import Foundation

/// SHA-256 over a sequence of fields, each written with its length so that no two different
/// sequences of fields hash alike ("ab","c" vs "a","bc"); a missing value is distinct from "".
struct FieldDigest {
    private var hasher = SHA256()

    static let zero = String(repeating: "0", count: 64)

    mutating func add(_ text: String?) {
        guard let text else {
            hasher.update(data: Array("-;".utf8))
            return
        }
        let bytes = Array(text.utf8)
        hasher.update(data: Array("\(bytes.count):".utf8))
        hasher.update(data: bytes)
    }

    mutating func add(_ number: Int64?) { add(number.map { String($0) }) }

    /// The exact bits, so that a value is never "equal enough".
    mutating func add(_ value: Double?) { add(value.map { String($0.bitPattern, radix: 16) }) }

    mutating func add(raw bytes: [UInt8]) { hasher.update(data: bytes) }

    func hex() -> String { Self.hex(hasher.finalize()) }

    static func hex(_ digest: SHA256.Digest) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }

    /// SHA-256 of a file's bytes (the config, at each load), nil when it cannot be read.
    static func file(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return hex(SHA256.hash(data: data))
    }
}
