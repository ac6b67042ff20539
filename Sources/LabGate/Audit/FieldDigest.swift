import Crypto
import Foundation

/// SHA-256 over a sequence of fields, each written with its length so that no two different
/// sequences of fields hash alike ("ab","c" vs "a","bc"); a missing value is distinct from "".
struct FieldDigest {
    private var hasher = SHA256()
    /// Bytes not yet given to the hasher: fields are small, and one update per field cost more
    /// than hashing them (the writer digests seven fields of every reading it stores).
    private var pending: [UInt8] = []
    private static let chunk = 16 * 1024

    static let zero = String(repeating: "0", count: 64)

    mutating func add(_ text: String?) {
        guard var text else {
            pending.append(UInt8(ascii: "-"))
            pending.append(UInt8(ascii: ";"))
            return
        }
        // The same bytes as "\(utf8.count):" followed by the UTF-8, without building arrays.
        text.withUTF8 { utf8 in
            updateLength(utf8.count)
            update(UnsafeRawBufferPointer(utf8))
        }
    }

    /// An integer as its decimal text (the bytes of `String(number)`).
    mutating func add(_ number: Int64?) {
        guard let number else { return add(nil as String?) }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: "-" and up to 19 digits
        withUnsafeMutableBytes(of: &digits) { buffer in
            var magnitude = number.magnitude
            var end = buffer.count
            repeat {
                end -= 1
                buffer[end] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if number < 0 {
                end -= 1
                buffer[end] = UInt8(ascii: "-")
            }
            let text = UnsafeRawBufferPointer(rebasing: buffer[end...])
            updateLength(text.count)
            update(text)
        }
    }

    /// The exact bits, so that a value is never "equal enough": the bit pattern in lowercase hex
    /// without leading zeros (the bytes of `String(value.bitPattern, radix: 16)`).
    mutating func add(_ value: Double?) {
        guard let value else { return add(nil as String?) }
        var digits: (UInt64, UInt64) = (0, 0)  // 16 hex digits at most
        withUnsafeMutableBytes(of: &digits) { buffer in
            var bits = value.bitPattern
            var end = buffer.count
            repeat {
                end -= 1
                buffer[end] = Self.hexDigits[Int(bits & 0xF)]
                bits >>= 4
            } while bits > 0
            let text = UnsafeRawBufferPointer(rebasing: buffer[end...])
            updateLength(text.count)
            update(text)
        }
    }

    private mutating func update(_ bytes: UnsafeRawBufferPointer) {
        pending.append(contentsOf: bytes)
        if pending.count >= Self.chunk {
            pending.withUnsafeBytes { hasher.update(bufferPointer: $0) }
            pending.removeAll(keepingCapacity: true)
        }
    }
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// The length prefix of a present field: its byte count in decimal, then ":".
    private mutating func updateLength(_ count: Int) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { buffer in
            var value = count
            var end = buffer.count - 1
            buffer[end] = UInt8(ascii: ":")
            repeat {
                end -= 1
                buffer[end] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            } while value > 0
            update(UnsafeRawBufferPointer(rebasing: buffer[end...]))
        }
    }

    mutating func add(raw bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    func hex() -> String {
        var hasher = hasher
        pending.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        return Self.hex(hasher.finalize())
    }

    static func hex(_ digest: SHA256.Digest) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }

    /// SHA-256 of a file's bytes (the config, at each load), nil when it cannot be read.
    static func file(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return hex(SHA256.hash(data: data))
    }
}
