import Crypto

/// Plain SHA-256 of a stream of bytes, fed as they arrive (a refused request's body is hashed
/// as it is read, never kept).
package struct BytesDigest {
    private var hasher = SHA256()
    package private(set) var count = 0

    package init() {}

    package mutating func update(_ bytes: UnsafeRawBufferPointer) {
        hasher.update(bufferPointer: bytes)
        count += bytes.count
    }

    package func hex() -> String {
        FieldDigest.hex(hasher.finalize())
    }
}
