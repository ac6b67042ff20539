import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Closes a connection once a response that says `Connection: close` has been written (a
/// refusal, a body too large, a wrong Host): whatever else the peer sends on it — the rest of a
/// 2 MiB body, more requests — is never read.
final class CloseAfterRefusalHandler: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var closing = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case let .head(head):
            if head.headerFields[.connection]?.lowercased() == "close" { closing = true }
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            guard closing else {
                context.write(data, promise: promise)
                return
            }
            closing = false
            context.writeAndFlush(data, promise: promise)
            context.close(promise: nil)
        }
    }
}

@available(*, unavailable)
extension CloseAfterRefusalHandler: Sendable {}
