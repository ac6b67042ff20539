import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// What the conversation asks of the connection's handler.
enum SMTPRequest: Sendable {
    /// Send `bytes` (nil: nothing, as for the greeting) and complete `reply` with the server's next
    /// reply.
    case command(ByteBuffer?, reply: EventLoopPromise<SMTPReply>)
    /// Complete `done` when the TLS handshake (after STARTTLS) has completed.
    case tlsHandshake(done: EventLoopPromise<Void>)
}

/// Why a connection stopped answering.
enum SMTPConnectionFailure: Error {
    case closed
    case deadline
    /// A reply nobody asked for: a server (or someone in between) sending ahead of the
    /// conversation, which after STARTTLS would be a response injection.
    case unsolicited(SMTPReply)
    case error(any Error)
}

/// Sent as a user outbound event when the exchange's deadline passes: the handler fails what is
/// pending and closes.
struct SMTPDeadlineReached: Sendable {}

/// Pairs the server's replies with the conversation's commands, in order; once anything fails
/// (the deadline, a closed connection, a TLS error), every pending and later request fails the
/// same way.
final class SMTPClientHandler: ChannelDuplexHandler {
    typealias InboundIn = SMTPReply
    typealias OutboundIn = SMTPRequest
    typealias OutboundOut = ByteBuffer

    private var waiting: [EventLoopPromise<SMTPReply>]
    private var handshake: EventLoopPromise<Void>?
    private var handshakeCompleted = false
    private var failure: SMTPConnectionFailure?

    /// The greeting is awaited from the start: the server may send it before the conversation
    /// asks for it.
    init(greeting: EventLoopPromise<SMTPReply>) {
        waiting = [greeting]
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let reply = unwrapInboundIn(data)
        guard !waiting.isEmpty else {
            fail(context: context, .unsolicited(reply))
            return
        }
        waiting.removeFirst().succeed(reply)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .command(let bytes, let reply):
            if let failure {
                reply.fail(failure)
                promise?.fail(failure)
                return
            }
            waiting.append(reply)
            if let bytes {
                context.write(wrapOutboundOut(bytes), promise: promise)
            } else {
                promise?.succeed(())
            }
        case .tlsHandshake(let done):
            if let failure {
                done.fail(failure)
            } else if handshakeCompleted {
                done.succeed(())
            } else {
                handshake = done
            }
            promise?.succeed(())
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event {
            handshakeCompleted = true
            handshake?.succeed(())
            handshake = nil
        }
        context.fireUserInboundEventTriggered(event)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        if event is SMTPDeadlineReached {
            fail(context: context, .deadline)
            promise?.succeed(())
            return
        }
        context.triggerUserOutboundEvent(event, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context: context, .error(error))
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(context: context, .closed)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        fail(context: context, .closed)
    }

    private func fail(context: ChannelHandlerContext, _ error: SMTPConnectionFailure) {
        if failure == nil { failure = error }
        let failure = self.failure!
        let pending = waiting
        waiting = []
        for promise in pending { promise.fail(failure) }
        handshake?.fail(failure)
        handshake = nil
        context.close(promise: nil)
    }
}

/// One TCP connection to an SMTP server, from the async side: commands out, replies back.
struct SMTPConnection: Sendable {
    let channel: any Channel
    let greeting: EventLoopFuture<SMTPReply>

    static func connect(host: String, port: Int, group: any EventLoopGroup, timeout: Duration) async throws -> SMTPConnection {
        let eventLoop = group.next()
        let greeting = eventLoop.makePromise(of: SMTPReply.self)
        do {
            let channel = try await ClientBootstrap(group: eventLoop)
                .connectTimeout(TimeAmount(timeout))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SMTPReplyDecoder()))
                        try channel.pipeline.syncOperations.addHandler(SMTPClientHandler(greeting: greeting))
                    }
                }
                .connect(host: host, port: port).get()
            return SMTPConnection(channel: channel, greeting: greeting.futureResult)
        } catch {
            greeting.fail(error)
            throw error
        }
    }

    /// Sends `line` (CRLF added) and returns the server's reply.
    func command(_ line: String) async throws -> SMTPReply {
        try await send(ByteBuffer(string: line + "\r\n"))
    }

    func send(_ bytes: ByteBuffer?) async throws -> SMTPReply {
        let reply = channel.eventLoop.makePromise(of: SMTPReply.self)
        channel.writeAndFlush(SMTPRequest.command(bytes, reply: reply)).whenFailure { reply.fail($0) }
        return try await reply.futureResult.get()
    }

    /// Puts TLS under the conversation (after the server's 220 to STARTTLS) and waits for the
    /// handshake.
    func startTLS(context: NIOSSLContext, serverHostname: String?) async throws {
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandler(
                NIOSSLClientHandler(context: context, serverHostname: serverHostname), position: .first)
        }.get()
        let done = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(SMTPRequest.tlsHandshake(done: done)).whenFailure { done.fail($0) }
        try await done.futureResult.get()
    }

    /// Ends the exchange now (a deadline): what is pending fails with `.deadline`.
    func expire() {
        channel.triggerUserOutboundEvent(SMTPDeadlineReached(), promise: nil)
    }

    func close() {
        channel.close(promise: nil)
    }

    /// Whether the server's address is a loopback one (127.0.0.0/8, ::1): the only place AUTH
    /// may go in the clear.
    var isLoopback: Bool {
        guard let ip = channel.remoteAddress?.ipAddress else { return false }
        return ip.hasPrefix("127.") || ip == "::1" || ip.hasPrefix("::ffff:127.")
    }

    var localIPAddress: String? { channel.localAddress?.ipAddress }
}
