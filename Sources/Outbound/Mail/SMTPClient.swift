import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Hands messages to an SMTP server (RFC 5321): TLS from the first byte (port 465) or STARTTLS
/// when the server is configured for either, EHLO (HELO when the server refuses EHLO), AUTH PLAIN or LOGIN when a user is set and the server offers AUTH, MAIL FROM, RCPT TO per
/// recipient, DATA, QUIT; all within one deadline. One connection per message: notifications are
/// few, and a relay's idle timeout would close a kept connection anyway.
public struct SMTPClient: Sendable {
    public var timeout: Duration
    /// The name this host gives in EHLO; nil: the host name, or the local address as a literal.
    public var heloName: String?
    private let group: any EventLoopGroup

    public init(timeout: Duration = .seconds(30), heloName: String? = nil, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.timeout = timeout
        self.heloName = heloName
        self.group = eventLoopGroup
    }

    /// Sends `message` to each of its recipients through `server`. Throws when the server did not
    /// accept the message for every recipient (`MailError.delivered` lists those it did accept),
    /// or the exchange took longer than `timeout`.
    public func send(_ message: MailMessage, via server: SMTPServer) async throws(MailError) {
        var session = SMTPSession(server: server, timeout: timeout)
        let content: String
        do {
            content = try message.rendered()
        } catch {
            throw session.error(.message, text: error.reason)
        }
        let start = ContinuousClock.now
        let connection: SMTPConnection
        do {
            connection = try await SMTPConnection.connect(host: server.host, port: server.port, group: group, timeout: timeout)
        } catch {
            let timedOut = ContinuousClock.now - start >= timeout
            throw session.error(.connect, text: timedOut ? "no connection within \(timeout)" : Self.reason(error), timedOut: timedOut)
        }
        let remaining = timeout - (ContinuousClock.now - start)
        let deadline = connection.channel.eventLoop.scheduleTask(in: TimeAmount(max(remaining, .zero))) { connection.stop(.deadline) }
        defer {
            deadline.cancel()
            connection.close()
        }
        // A cancelled task (the daemon stopping) ends the exchange at once, not at the deadline.
        let heloName = heloName
        do {
            try await withTaskCancellationHandler {
                try await session.run(message, content: content, on: connection, heloName: heloName)
            } onCancel: {
                connection.stop(.cancelled)
            }
        } catch let error as MailError {
            throw error
        } catch {
            throw session.error(.connect, text: "\(error)")
        }
    }
}

extension SMTPClient {
    /// A failed connect in a few words: each address tried and why it failed (`127.0.0.1:
    /// Connection refused`), rather than NIO's whole error value.
    static func reason(_ error: any Error) -> String {
        if let error = error as? NIOConnectionError {
            let tried = error.connectionErrors.map { "\($0.target.ipAddress ?? "\($0.target)"): \(reason($0.error))" }
            if !tried.isEmpty { return tried.joined(separator: "; ") }
            if let dns = error.dnsAError ?? error.dnsAAAAError { return "cannot resolve \(error.host): \(dns)" }
            return "cannot resolve \(error.host)"
        }
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)) }
        return "\(error)"
    }
}

/// One exchange: the conversation, step by step, and what each failure is called.
struct SMTPSession {
    let server: SMTPServer
    let timeout: Duration
    private var tls = false

    init(server: SMTPServer, timeout: Duration) {
        self.server = server
        self.timeout = timeout
    }

    func error(_ stage: MailError.Stage, code: Int? = nil, text: String, timedOut: Bool = false, delivered: [String] = []) -> MailError {
        MailError(host: server.host, port: server.port, stage: stage, code: code, text: text, timedOut: timedOut, delivered: delivered)
    }

    mutating func run(_ message: MailMessage, content: String, on connection: SMTPConnection, heloName: String?) async throws(MailError) {
        // Implicit TLS: the handshake comes first, the greeting arrives through it.
        if server.implicitTLS { try await startTLS(on: connection) }
        try await expect(220, at: .greeting) { try await connection.awaitGreeting() }
        let helo = heloName ?? Self.hostName() ?? connection.localIPAddress.map { $0.contains(":") ? "[IPv6:\($0)]" : "[\($0)]" } ?? "localhost"
        var ehlo = try await hello(helo, on: connection)

        if server.starttls && !server.implicitTLS {
            guard ehlo.extensions["STARTTLS"] != nil else {
                throw error(.starttls, text: ehlo.code == 250 ? "the server does not offer STARTTLS" : "the server refused EHLO (\(ehlo.code)), so it offers no STARTTLS")
            }
            try await expect(220, at: .starttls) { try await connection.command("STARTTLS") }
            try await startTLS(on: connection)
            // What the server offered before TLS is forgotten (RFC 3207): ask again.
            ehlo = try await expect(250, at: .ehlo) { try await connection.command("EHLO \(helo)") }
        }

        if let user = server.user {
            try await authenticate(user: user, password: server.password ?? "", offered: ehlo.extensions["AUTH"], on: connection)
        }

        try await expect(250, at: .mailFrom(message.from)) { try await connection.command("MAIL FROM:<\(message.from)>") }
        var accepted: [String] = []
        var refused: [(address: String, reply: SMTPReply)] = []
        for address in message.to {
            let reply = try await perform(at: .rcptTo(address)) { try await connection.command("RCPT TO:<\(address)>") }
            if reply.code == 250 || reply.code == 251 {
                accepted.append(address)
            } else {
                // The others may still be reachable: an alarm goes to whoever can get it.
                refused.append((address, reply))
            }
        }
        guard !accepted.isEmpty else {
            _ = try? await connection.command("QUIT")
            throw refusal(refused, delivered: [])
        }
        try await expect(354, at: .data) { try await connection.command("DATA") }
        try await expect(250, at: .content) { try await connection.send(ByteBuffer(string: Self.dotStuffed(content) + ".\r\n")) }
        // The message is the server's now; a QUIT that goes wrong changes nothing.
        _ = try? await connection.command("QUIT")
        if !refused.isEmpty { throw refusal(refused, delivered: accepted) }
    }

    /// EHLO, or HELO when the server refuses EHLO with a 5xx (RFC 5321 3.2: an old or minimal
    /// server that knows only HELO); the reply says what the server offers (nothing after HELO).
    private func hello(_ name: String, on connection: SMTPConnection) async throws(MailError) -> SMTPReply {
        let ehlo = try await perform(at: .ehlo) { try await connection.command("EHLO \(name)") }
        if ehlo.code == 250 { return ehlo }
        guard (500...599).contains(ehlo.code) else { throw error(.ehlo, code: ehlo.code, text: ehlo.text) }
        try await expect(250, at: .helo) { try await connection.command("HELO \(name)") }
        return ehlo
    }

    /// Puts TLS under the connection (from the start, or after the server's 220 to STARTTLS).
    private mutating func startTLS(on connection: SMTPConnection) async throws(MailError) {
        let context: NIOSSLContext
        do {
            var configuration = TLSConfiguration.makeClientConfiguration()
            if let file = server.trustedCAFile { configuration.trustRoots = .file(file) }
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            throw self.error(.tls, text: "\(error)")
        }
        // SNI and the name checked against the certificate; an address literal is checked
        // against the certificate's IP addresses instead (NIOSSL's default without a name).
        let isAddress = (try? SocketAddress(ipAddress: server.host, port: 0)) != nil
        try await perform(at: .tls) { try await connection.startTLS(context: context, serverHostname: isAddress ? nil : server.host) }
        tls = true
    }

    private func refusal(_ refused: [(address: String, reply: SMTPReply)], delivered: [String]) -> MailError {
        let first = refused[0]
        let others = refused.count > 1 ? " (and \(refused.count - 1) more refused: \(refused.dropFirst().map(\.address).joined(separator: ", ")))" : ""
        return error(.rcptTo(first.address), code: first.reply.code, text: first.reply.text + others, delivered: delivered)
    }

    private func authenticate(user: String, password: String, offered: [String]?, on connection: SMTPConnection) async throws(MailError) {
        guard tls || connection.isLoopback else {
            throw error(.auth, text: "refusing to send the password in the clear to a server that is not on loopback: set tls (starttls or implicit)")
        }
        // A relay that does not ask for AUTH (it trusts this host's address) gets none.
        guard let mechanisms = offered else { return }
        if mechanisms.contains("PLAIN") {
            let token = Data(([0] + Array(user.utf8) + [0] + Array(password.utf8))).base64EncodedString()
            try await expect(235, at: .auth) { try await connection.command("AUTH PLAIN \(token)") }
        } else if mechanisms.contains("LOGIN") {
            try await expect(334, at: .auth) { try await connection.command("AUTH LOGIN") }
            try await expect(334, at: .auth) { try await connection.command(Data(user.utf8).base64EncodedString()) }
            try await expect(235, at: .auth) { try await connection.command(Data(password.utf8).base64EncodedString()) }
        } else {
            throw error(.auth, text: "the server offers AUTH \(mechanisms.joined(separator: " ")), none of PLAIN and LOGIN")
        }
    }

    /// Runs one step; a reply other than `code` is a MailError naming the stage.
    @discardableResult
    private func expect(_ code: Int, at stage: MailError.Stage, _ step: () async throws -> SMTPReply) async throws(MailError) -> SMTPReply {
        let reply = try await perform(at: stage, step)
        guard reply.code == code else { throw error(stage, code: reply.code, text: reply.text) }
        return reply
    }

    /// Runs one step, naming the stage in any failure of the connection.
    @discardableResult
    private func perform<T>(at stage: MailError.Stage, _ step: () async throws -> T) async throws(MailError) -> T {
        do {
            return try await step()
        } catch let failure as SMTPConnectionFailure {
            switch failure {
            case .deadline: throw error(stage, text: "no reply within the deadline of \(timeout)", timedOut: true)
            case .cancelled: throw error(stage, text: "cancelled")
            case .closed: throw error(stage, text: "the server closed the connection")
            case .unsolicited(let reply): throw error(stage, code: reply.code, text: "a reply nobody asked for: \(reply.text)")
            case .error(let cause): throw error(stage, text: cause)
            }
        } catch {
            throw self.error(stage, text: "\(error)")
        }
    }

    /// RFC 5321 4.5.2: a line that starts with a dot gets another, so that no line of the
    /// message reads as its end.
    static func dotStuffed(_ content: String) -> String {
        var stuffed = content.hasPrefix(".") ? "." + content : content
        stuffed = stuffed.replacingOccurrences(of: "\r\n.", with: "\r\n..")
        return stuffed.hasSuffix("\r\n") ? stuffed : stuffed + "\r\n"
    }

    /// This host's name if it is a usable EHLO domain.
    static func hostName() -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return nil }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let allowed = name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }
        return name.isEmpty || !allowed ? nil : name
    }
}
