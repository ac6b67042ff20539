import Foundation
import Hummingbird
import LabGate
import NIOCore

/// The body of a control request, read only once the peer's role allows the action: at most
/// `limit` bytes (413 beyond, said by Content-Length before a byte of it is read).
enum ControlBody {
    /// Every request the control socket takes is a small JSON object; 64 KiB leaves room for a
    /// long impact statement and none for a user to make the daemon hold megabytes.
    static let limit = 64 * 1024

    /// The JSON body as `type`; 413 when it is larger than `limit`, 400 with `expected` when it
    /// is not that JSON.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, expected: String) async throws(RequestError) -> T {
        var bytes = try await collect(request)
        return try json(type, from: &bytes, expected: expected)
    }

    /// A body that may be empty (`lot end` takes an optional note).
    static func decodeIfPresent<T: Decodable>(_ type: T.Type, from request: Request, expected: String) async throws(RequestError) -> T? {
        var bytes = try await collect(request)
        guard bytes.readableBytes > 0 else { return nil }
        return try json(type, from: &bytes, expected: expected)
    }

    /// A body may carry a signer's password: the copies made of it here (the collected buffer,
    /// the Data decoded from) are wiped once decoded. The String it is decoded into cannot be
    /// (see `PAMPasswordChecker.check`), nor the transport's receive buffers.
    private static func json<T: Decodable>(_ type: T.Type, from bytes: inout ByteBuffer, expected: String) throws(RequestError) -> T {
        var data = Data(buffer: bytes)
        defer {
            bytes.withUnsafeMutableReadableBytes { if let base = $0.baseAddress { explicit_bzero(base, $0.count) } }
            data.withUnsafeMutableBytes { if let base = $0.baseAddress { explicit_bzero(base, $0.count) } }
        }
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw RequestError(.invalid, "expected JSON \(expected)")
        }
    }

    private static func collect(_ request: Request) async throws(RequestError) -> ByteBuffer {
        if let declared = declaredLength(request), declared > limit {
            throw tooLarge(declared)
        }
        var collected = ByteBuffer()
        do {
            for try await part in request.body {
                guard collected.readableBytes + part.readableBytes <= limit else { throw tooLarge(nil) }
                var part = part
                collected.writeBuffer(&part)
            }
        } catch let error as RequestError {
            throw error
        } catch {
            throw RequestError(.invalid, "cannot read the request body: \(error)")
        }
        return collected
    }

    /// What is audited of a refused request's body: its size and SHA-256, hashed as it is read up
    /// to `limit` and never kept (`truncated` when there was more).
    struct Digest: Sendable, Hashable, Codable {
        /// SHA-256 of the bytes read (the first `limit` of a larger body).
        var sha256: String
        var bytes: Int
        /// The body was larger than `limit`: only its first bytes were hashed (none when its
        /// Content-Length said so at once).
        var truncated: Bool
        /// Its Content-Length, when it gave one.
        var declared: Int?
    }

    static func digest(of request: Request) async -> Digest {
        var digest = BytesDigest()
        var truncated = declaredLength(request).map { $0 > limit } ?? false
        if !truncated {
            do {
                for try await part in request.body {
                    let room = limit - digest.count
                    guard part.readableBytes <= room else {
                        part.withUnsafeReadableBytes { digest.update(UnsafeRawBufferPointer(rebasing: $0.prefix(room))) }
                        truncated = true
                        break
                    }
                    part.withUnsafeReadableBytes { digest.update($0) }
                }
            } catch {
                truncated = true
            }
        }
        return Digest(sha256: digest.hex(), bytes: digest.count, truncated: truncated, declared: declaredLength(request))
    }

    private static func declaredLength(_ request: Request) -> Int? {
        request.headers[.contentLength].flatMap { Int($0) }
    }

    private static func tooLarge(_ declared: Int?) -> RequestError {
        let size = declared.map { "\($0) bytes" } ?? "more than that"
        return RequestError(.tooLarge, "the request body is \(size): the control socket takes at most \(limit / 1024) KiB")
    }
}
