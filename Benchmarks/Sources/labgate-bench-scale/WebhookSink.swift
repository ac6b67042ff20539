import Foundation
import Glibc
import Synchronization

/// A webhook receiver on loopback for the notification figure: a plain blocking HTTP/1.1 server on
/// a thread of its own that takes each POST whole (headers and `Content-Length` bytes), notes the
/// wall-clock time it had the last byte, answers 200 and closes. Nothing else runs on its thread,
/// so the time it notes is when the request arrived, not when someone got round to it.
final class WebhookSink: Sendable {
    struct Request: Sendable {
        /// When the whole request had been read (wall clock, as the daemon's stored times are).
        var received: Date
        var body: Data
    }

    let port: Int
    private let fd: Int32
    private let requests = Mutex<[Request]>([])

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard listener >= 0 else { throw BenchError("socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 16) == 0 else { throw BenchError("webhook sink: bind/listen: \(String(cString: strerror(errno)))") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        fd = listener
        Thread.detachNewThread { self.serve() }
    }

    /// Takes one request after another until the listening socket is closed.
    private func serve() {
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            if let request = Self.read(client) { requests.withLock { $0.append(request) } }
            let reply = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            _ = reply.withCString { send(client, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
            close(client)
        }
    }

    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    var url: String { "http://127.0.0.1:\(port)/labgate" }

    /// The requests so far, in the order they came.
    var received: [Request] { requests.withLock { $0 } }

    /// One request: headers up to the blank line, then the body by its Content-Length.
    private static func read(_ client: Int32) -> Request? {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        var expected: Int?
        var headerEnd = 0
        while true {
            let count = recv(client, &buffer, buffer.count, 0)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return nil }
            bytes += buffer[..<count]
            if expected == nil, let end = find([13, 10, 13, 10], in: bytes) {
                headerEnd = end + 4
                let head = String(decoding: bytes[..<end], as: UTF8.self).lowercased()
                let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                expected = headerEnd + length
            }
            if let expected, bytes.count >= expected {
                return Request(received: Date(), body: Data(bytes[headerEnd..<expected]))
            }
        }
    }

    private static func find(_ needle: [UInt8], in bytes: [UInt8]) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        for start in 0...(bytes.count - needle.count) where Array(bytes[start..<(start + needle.count)]) == needle { return start }
        return nil
    }
}
