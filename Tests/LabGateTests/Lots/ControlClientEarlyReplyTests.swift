import Foundation
import Glibc
import NIOCore
import Testing
@testable import LabGate
@testable import LabGateClient

/// A control socket that answers each connection as soon as it has read the request's head (as
/// the daemon does for a refusal it can make from the headers: 413 by Content-Length, 403 by
/// role) and closes it without reading the body.
private final class EarlyAnsweringSocket: Sendable {
    let path: String
    private let listener: Int32

    init(path: String, status: String, message: String, connections: Int) throws {
        self.path = path
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        guard let address = try? SocketAddress(unixDomainSocketPath: path) else { throw POSIXError(.ENAMETOOLONG) }
        let bound = address.withSockAddr { bind(listener, $0, socklen_t($1)) }
        guard bound == 0, listen(listener, 8) == 0 else { throw POSIXError(.EADDRINUSE) }
        let body = #"{"error":"\#(message)"}"#
        let reply = Array("HTTP/1.1 \(status)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)".utf8)
        Thread.detachNewThread {
            for _ in 0..<connections {
                let fd = accept(listener, nil, nil)
                guard fd >= 0 else { return }
                var head: [UInt8] = []
                var byte: UInt8 = 0
                while !head.suffix(4).elementsEqual(Array("\r\n\r\n".utf8)), recv(fd, &byte, 1, 0) == 1 { head.append(byte) }
                _ = reply.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                close(fd)
            }
        }
    }

    deinit { close(listener) }
}

@Suite("the control client reports the daemon's answer even when the daemon closes before reading the whole request")
struct ControlClientEarlyReplyTests {
    @Test("a 4 MiB body the daemon refuses from its headers (413) and closes on: the client still reports 413 and the daemon's message, every time")
    func refusedBeforeTheBodyIsRead() async throws {
        let folder = try TemporaryFolder()
        let message = "the request body is 4194304 bytes: the control socket takes at most 64 KiB"
        let server = try EarlyAnsweringSocket(
            path: folder.path + "/control.sock", status: "413 Payload Too Large", message: message, connections: 20)
        let client = ControlClient(path: server.path)
        for _ in 0..<20 {
            let reply = try await client.send("POST", "/lots", body: Data(count: 4 * 1024 * 1024))
            #expect(reply.status == 413 && reply.message == message)
        }
    }
}
