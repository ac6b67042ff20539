import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// What any one peer may hold of a listener. Hummingbird sets no idle timeout and no cap on
/// connections: without these, a local user could open connections until the daemon runs out of
/// descriptors (the soft limit is 1024 outside systemd) and stall everything that needs one.
public struct ConnectionLimits: Sendable {
    /// A connection with no request in progress for this long is closed.
    public var idleTimeout: Duration
    /// Connections open at once from one uid (the control socket) before more are closed at once.
    public var perUser: Int
    /// Connections open at once in all; beyond it the listener stops accepting until one closes.
    public var total: Int

    public init(idleTimeout: Duration = .seconds(10), perUser: Int = 16, total: Int = 512) {
        self.idleTimeout = idleTimeout
        self.perUser = perUser
        self.total = total
    }

    /// The server for a listener: HTTP/1.1 with the idle timeout, the refused-request closer and,
    /// with `counter`, the per-uid cap.
    func server(counter: PeerConnectionCounter?, logger: Logger) -> HTTPServerBuilder {
        let configuration = HTTP1Channel.Configuration(
            additionalChannelHandlers: [CloseAfterRefusalHandler()], idleTimeout: TimeAmount(idleTimeout))
        return HTTPServerBuilder { responder in
            let http = HTTP1Channel(responder: responder, configuration: configuration)
            guard let counter else { return http }
            return PerUserConnections(inner: http, counter: counter, logger: logger)
        }
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
