import Crypto
import Foundation

/// SHA-256 over a sequence of fields, each written with its length so that no two different
/// sequences of fields hash alike ("ab","c" vs "a","bc"); a missing value is distinct from "".
///
/// A field is `<length in decimal>:<bytes>`, a missing one `-;`; integers are their decimal text,
/// doubles the hexadecimal text of their bits. Stores sealed years ago must still verify, so
/// these bytes never change. The bytes are collected in a buffer and hashed in large chunks: the
/// verifier re-hashes millions of readings, and one hasher call per field cost more than the
/// hashing itself.
package struct FieldDigest {
    private var hasher = SHA256()
    private var buffer: [UInt8] = []

    package static let zero = String(repeating: "0", count: 64)
    private static let chunk = 32 * 1024

    init() {
        buffer.reserveCapacity(Self.chunk + 256)
    }

    /// A digest of few fields (a seal entry's): a small buffer, grown as needed.
    init(capacity: Int) {
        buffer.reserveCapacity(capacity)
    }

    mutating func add(_ text: String?) {
        guard var text else {
            buffer.append(UInt8(ascii: "-"))
            buffer.append(UInt8(ascii: ";"))
            return
        }
        text.withUTF8 { add(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// A field given as its bytes (UTF-8 text), without making a String of them.
    mutating func add(bytes: UnsafeRawBufferPointer) {
        Self.digits(UInt64(bytes.count), hex: false) { buffer.append(contentsOf: $0) }
        buffer.append(UInt8(ascii: ":"))
        buffer.append(contentsOf: bytes)
        hashIfFull()
    }

    mutating func add(_ number: Int64?) {
        guard let number else { return add(nil as String?) }
        addNumber(number.magnitude, negative: number < 0, hex: false)
    }

    /// The exact bits, so that a value is never "equal enough".
    mutating func add(_ value: Double?) {
        guard let bits = value?.bitPattern else { return add(nil as String?) }
        addNumber(bits, negative: false, hex: true)
    }

    /// Bytes already encoded as fields (by `encoded(_:)`), e.g. the same device and channel on
    /// every reading of a series.
    mutating func add(encoded bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
        hashIfFull()
    }

    mutating func add(encoded bytes: UnsafeRawBufferPointer) {
        buffer.append(contentsOf: bytes)
        hashIfFull()
    }

    /// The field encoding of `fields`, to be added many times with `add(encoded:)`.
    static func encoded(_ fields: String?...) -> [UInt8] {
        var digest = FieldDigest()
        for field in fields { digest.add(field) }
        return digest.buffer
    }

    func hex() -> String {
        var hasher = hasher
        hasher.update(data: buffer)
        return Self.hex(hasher.finalize())
    }

    static func hex(_ digest: SHA256.Digest) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in digest {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// SHA-256 of a file's bytes (the config, at each load), nil when it cannot be read.
    package static func file(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return hex(SHA256.hash(data: data))
    }

    private mutating func hashIfFull() {
        guard buffer.count >= Self.chunk else { return }
        hasher.update(data: buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    /// A number as a field: `<length>:` then its digits.
    private mutating func addNumber(_ magnitude: UInt64, negative: Bool, hex: Bool) {
        Self.digits(magnitude, hex: hex) { digits in
            // At most 20 digits and a sign: the length is one or two decimal digits.
            let length = digits.count + (negative ? 1 : 0)
            if length >= 10 { buffer.append(UInt8(ascii: "0") + UInt8(length / 10)) }
            buffer.append(UInt8(ascii: "0") + UInt8(length % 10))
            buffer.append(UInt8(ascii: ":"))
            if negative { buffer.append(UInt8(ascii: "-")) }
            buffer.append(contentsOf: digits)
        }
        hashIfFull()
    }

    /// The lower-case digits of `value` without leading zeros (as `String(value, radix:)` writes
    /// them), made on the stack.
    private static func digits(_ value: UInt64, hex: Bool, _ body: (UnsafeRawBufferPointer) -> Void) {
        var scratch: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &scratch) { raw in
            var index = raw.count
            var rest = value
            repeat {
                let digit: UInt8
                if hex {
                    digit = UInt8(truncatingIfNeeded: rest & 0xf)
                    rest >>= 4
                } else {
                    digit = UInt8(truncatingIfNeeded: rest % 10)
                    rest /= 10
                }
                index -= 1
                raw[index] = digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10
            } while rest > 0
            body(UnsafeRawBufferPointer(rebasing: raw[index...]))
        }
    }
}
