import Foundation
import Glibc
import LabGate
import NIOCore
import NIOHTTP1
import NIOPosix

/// The CLI's side of the control socket: one HTTP/1.1 request per connection, JSON both ways
/// (swift-nio's HTTP codec over the Unix socket).
public struct ControlClient: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    public struct Reply: Sendable {
        public var status: Int
        public var body: Data

        public var ok: Bool { (200..<300).contains(status) }

        public func decode<T: Decodable>(_ type: T.Type) throws -> T {
            try JSONDecoder().decode(type, from: body)
        }

        /// The server's error message, or the body as text.
        public var message: String {
            (try? decode(ControlAPI.Failure.self).error) ?? String(decoding: body, as: UTF8.self)
        }
    }

    public enum Failure: Error, Sendable, CustomStringConvertible {
        /// Nothing listens on the socket: the daemon is not running (or runs with another config).
        case notRunning(path: String, reason: String)
        case failed(String)

        public var description: String {
            switch self {
            case let .notRunning(path, reason):
                "labgate is not running: nothing answers on its control socket \(path) (\(reason))"
            case let .failed(reason): reason
            }
        }
    }

    public func get(_ uri: String) async throws(Failure) -> Reply {
        try await send("GET", uri, body: nil)
    }

    public func post(_ uri: String, _ body: some Encodable) async throws(Failure) -> Reply {
        try await send("POST", uri, body: ControlAPI.encode(body))
    }

    public func send(_ method: String, _ uri: String, body: Data?) async throws(Failure) -> Reply {
        let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(unixDomainSocketPath: path) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                            wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw .notRunning(path: path, reason: Self.describe(error))
        }
        do {
            return try await channel.executeThenClose { inbound, outbound in
                var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: uri)
                head.headers.add(name: "Host", value: "labgate")
                head.headers.add(name: "Connection", value: "close")
                head.headers.add(name: "Content-Length", value: "\(body?.count ?? 0)")
                if body != nil { head.headers.add(name: "Content-Type", value: "application/json") }
                var parts: [HTTPClientRequestPart] = [.head(head)]
                // The body may carry a signer's password: this copy is wiped once written.
                var bytes = body.map { ByteBuffer(bytes: $0) }
                defer { bytes?.withUnsafeMutableReadableBytes { if let base = $0.baseAddress { explicit_bzero(base, $0.count) } } }
                if let bytes { parts.append(.body(.byteBuffer(bytes))) }
                parts.append(.end(nil))
                // The daemon may answer before it has read the whole request (a refusal it makes
                // from the headers: 413, 403) and close the connection: the rest of the request
                // then cannot be written ("I/O on closed channel", EPIPE), but its answer has
                // arrived and is what the user needs to see. So a failed write is reported only
                // when no answer follows.
                var unsent: (any Error)?
                do {
                    try await outbound.write(contentsOf: parts)
                } catch {
                    unsent = error
                }
                var status = 0
                var data: [UInt8] = []
                do {
                    for try await part in inbound {
                        switch part {
                        case let .head(head): status = Int(head.status.code)
                        case let .body(buffer): data += buffer.readableBytesView
                        case .end: return Reply(status: status, body: Data(data))
                        }
                    }
                } catch {
                    throw unsent ?? error
                }
                if let unsent { throw unsent }
                throw Failure.failed("the daemon closed the connection before replying")
            }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw .failed("control socket \(path): \(Self.describe(error))")
        }
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)).lowercased() }
        return "\(error)"
    }
}
