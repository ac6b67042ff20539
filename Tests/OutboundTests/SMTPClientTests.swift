import Foundation
import NIOCore
@testable import Outbound
import Testing
import TestSupport

@Suite("SMTP client against aiosmtpd on loopback", .serialized)
struct SMTPClientTests {
    let client = SMTPClient(timeout: .seconds(20))

    static let subject = "⚠ CRITICAL INC-03 CO₂ 7.9 % > 6.0 % — lots L-0412, L-0413 (deviation DEV-2026-0042)"
    static let body = """
        Since 02:14 UTC the CO₂ of INC-03 is 7.9 % against a limit of 6.0 %; worst 8.3 % at 02:31.
        .a line that starts with a dot, and one with only a dot:
        .
        Trailing spaces stay:   
        An equals sign = and a very long line that goes on past seventy-six characters so that it must be wrapped with soft breaks: über, 温度, 🧫.
        Acknowledge: labgate deviations ack DEV-2026-0042 --comment "…"
        """

    @Test("a message reaches the server as written: envelope, headers, decoded UTF-8 subject and body")
    func messageAsReceived() async throws {
        let sink = try await SMTPSink()
        defer { sink.stop() }
        let date = Date(timeIntervalSince1970: 1_795_000_000)
        let message = MailMessage(
            from: "labgate@lab-host.example", to: ["oncall@site.example", "qa@site.example"], subject: Self.subject,
            body: Self.body, date: date, messageID: "dev-42.1@lab-host.example")
        try await client.send(message, via: SMTPServer(host: "127.0.0.1", port: sink.port))

        let received = try #require(try sink.received().first)
        #expect(received.mail_from == "labgate@lab-host.example")
        #expect(received.rcpt_tos == ["oncall@site.example", "qa@site.example"])
        #expect(received.subject == Self.subject)
        #expect(received.body.replacingOccurrences(of: "\r\n", with: "\n") == Self.body + "\n")
        #expect(received.content_type == "text/plain")
        #expect(received.charset == "utf-8")
        #expect(received.transfer_encoding == "quoted-printable")
        #expect(received.header("From") == "labgate@lab-host.example")
        #expect(received.header("To") == "oncall@site.example, qa@site.example")
        #expect(received.header("Message-ID") == "<dev-42.1@lab-host.example>")
        #expect(received.header("Date") == "Wed, 18 Nov 2026 11:06:40 +0000")
        #expect(!received.tls && !received.authenticated)
        // On the wire: ASCII only, CRLF only, no line longer than RFC 5322's 78 characters.
        let lines = received.raw.components(separatedBy: "\r\n")
        #expect(received.raw.unicodeScalars.allSatisfy { $0.isASCII })
        #expect(!lines.contains { $0.contains("\n") || $0.contains("\r") })
        #expect(lines.allSatisfy { $0.count <= 78 }, "\(lines.filter { $0.count > 78 })")
    }

    @Test("STARTTLS is negotiated with a certificate from the configured CA file, then AUTH PLAIN over it")
    func starttlsAndAuth() async throws {
        let certificate = try Certificate()
        let sink = try await SMTPSink(certificate: certificate, user: "labgate", password: "s3cret")
        defer { sink.stop() }
        let server = SMTPServer(
            host: "localhost", port: sink.port, starttls: true, user: "labgate", password: "s3cret",
            trustedCAFile: certificate.certificate)
        try await client.send(Self.message(), via: server)

        let received = try #require(try sink.received().first)
        #expect(received.tls)
        #expect(received.authenticated)
        #expect(received.auth_login == "labgate")
        #expect(received.rcpt_tos == ["oncall@site.example"])
    }

    @Test("AUTH LOGIN when the server does not offer PLAIN; a wrong password is reported with the server's reply")
    func authLoginAndWrongPassword() async throws {
        let sink = try await SMTPSink(user: "labgate", password: "s3cret", loginOnly: true)
        defer { sink.stop() }
        try await client.send(Self.message(), via: SMTPServer(host: "127.0.0.1", port: sink.port, user: "labgate", password: "s3cret"))
        #expect(try sink.received().first?.auth_login == "labgate")

        let error = try await #require(throws: MailError.self) {
            try await client.send(Self.message(), via: SMTPServer(host: "127.0.0.1", port: sink.port, user: "labgate", password: "wrong"))
        }
        #expect(error.stage == .auth)
        #expect(error.code == 535)
        #expect(error.isPermanent)
        #expect(try sink.received().count == 1)
    }

    @Test("a certificate the system does not trust stops the send at the TLS handshake")
    func untrustedCertificate() async throws {
        let certificate = try Certificate()
        let sink = try await SMTPSink(certificate: certificate)
        defer { sink.stop() }
        let error = try await #require(throws: MailError.self) {
            try await client.send(Self.message(), via: SMTPServer(host: "localhost", port: sink.port, starttls: true))
        }
        #expect(error.stage == .tls)
        #expect(error.description.hasPrefix("localhost:\(sink.port): TLS handshake: "))
        #expect(try sink.received().isEmpty)
    }

    @Test("STARTTLS configured but not offered by the server: nothing is sent in the clear")
    func starttlsNotOffered() async throws {
        let sink = try await SMTPSink()
        defer { sink.stop() }
        let error = try await #require(throws: MailError.self) {
            try await client.send(Self.message(), via: SMTPServer(host: "127.0.0.1", port: sink.port, starttls: true))
        }
        #expect(error.stage == .starttls)
        #expect(error.text == "the server does not offer STARTTLS")
        #expect(try sink.received().isEmpty)
    }

    @Test("a recipient refused with 550 is named with the server's text; the others still get the message")
    func refusedRecipient() async throws {
        let sink = try await SMTPSink(reject: ["nobody@site.example"])
        defer { sink.stop() }
        let message = MailMessage(
            from: "labgate@lab-host.example", to: ["nobody@site.example", "oncall@site.example"], subject: "s", body: "b")
        let error = try await #require(throws: MailError.self) {
            try await client.send(message, via: SMTPServer(host: "127.0.0.1", port: sink.port))
        }
        #expect(error.description == "127.0.0.1:\(sink.port): RCPT TO <nobody@site.example>: 550 5.1.1 unknown user")
        #expect(error.stage == .rcptTo("nobody@site.example"))
        #expect(error.delivered == ["oncall@site.example"])
        #expect(try sink.received().map(\.rcpt_tos) == [["oncall@site.example"]])

        // Nobody left: no DATA at all.
        let alone = MailMessage(from: "labgate@lab-host.example", to: ["nobody@site.example"], subject: "s", body: "b")
        let refused = try await #require(throws: MailError.self) {
            try await client.send(alone, via: SMTPServer(host: "127.0.0.1", port: sink.port))
        }
        #expect(refused.code == 550 && refused.delivered.isEmpty)
        #expect(try sink.received().count == 1)
    }

    @Test("a server that accepts the connection and never answers fails the send at the deadline")
    func silentServer() async throws {
        let silent = try SilentServer()
        let start = ContinuousClock.now
        let error = try await #require(throws: MailError.self) {
            try await SMTPClient(timeout: .seconds(1)).send(Self.message(), via: SMTPServer(host: "127.0.0.1", port: silent.port))
        }
        let elapsed = ContinuousClock.now - start
        #expect(error.timedOut)
        #expect(error.stage == .greeting)
        #expect(error.description == "127.0.0.1:\(silent.port): greeting: no reply within the deadline of 1.0 seconds")
        #expect(elapsed >= .seconds(1) && elapsed < .seconds(5))
    }

    @Test("a reply slipped in with the answer to STARTTLS (a response injection) ends the exchange before TLS")
    func starttlsInjection() async throws {
        let server = try ScriptedSMTPServer { line in
            if line.hasPrefix("EHLO") { return "250-scripted\r\n250 STARTTLS\r\n" }
            // What a man in the middle adds: read as if the server had said it after TLS.
            if line == "STARTTLS" { return "220 go ahead\r\n250 injected\r\n" }
            return "250 ok\r\n"
        }
        let error = try await #require(throws: MailError.self) {
            try await client.send(Self.message(), via: SMTPServer(host: "127.0.0.1", port: server.port, starttls: true))
        }
        #expect(error.code == 250 && error.text == "a reply nobody asked for: injected", "\(error)")
        #expect(server.received == ["EHLO \(server.received.first?.dropFirst(5) ?? "")", "STARTTLS"])
    }

    @Test("a server that offers AUTH without PLAIN or LOGIN: the send fails and names what it offers")
    func authMechanismMissing() async throws {
        let server = try ScriptedSMTPServer { line in
            if line.hasPrefix("EHLO") { return "250-scripted\r\n250 AUTH CRAM-MD5 GSSAPI\r\n" }
            return "250 ok\r\n"
        }
        let error = try await #require(throws: MailError.self) {
            try await client.send(Self.message(), via: SMTPServer(host: "127.0.0.1", port: server.port, user: "labgate", password: "pw"))
        }
        #expect(error.description == "127.0.0.1:\(server.port): AUTH: the server offers AUTH CRAM-MD5 GSSAPI, none of PLAIN and LOGIN")
        #expect(!server.received.contains { $0.hasPrefix("MAIL") })
    }

    @Test("cancelling the sending task (the daemon stopping) ends the exchange at once, not at the deadline")
    func cancelled() async throws {
        let silent = try SilentServer()
        let start = ContinuousClock.now
        let send = Task {
            try await SMTPClient(timeout: .seconds(60)).send(Self.message(), via: SMTPServer(host: "127.0.0.1", port: silent.port))
        }
        try await Task.sleep(for: .milliseconds(200))
        send.cancel()
        let error = try await #require(throws: MailError.self) { try await send.value }
        #expect(error.text == "cancelled" && !error.timedOut)
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    @Test("nothing listening: the error names the address tried and the refusal")
    func refusedConnection() async throws {
        let port = freePort()
        let error = try await #require(throws: MailError.self) {
            try await client.send(Self.message(), via: SMTPServer(host: "127.0.0.1", port: port))
        }
        #expect(error.description == "127.0.0.1:\(port): connect: 127.0.0.1: Connection refused")
        #expect(!error.timedOut && !error.isPermanent)
    }

    @Test("a header value with CR or LF is refused before anything is sent")
    func headerInjection() async throws {
        let port = freePort()  // nobody listens: a connect attempt would fail at .connect
        for message in [
            MailMessage(from: "labgate@lab-host.example", to: ["oncall@site.example"], subject: "hi\r\nBcc: all@site.example", body: "b"),
            MailMessage(from: "labgate@lab-host.example", to: ["oncall@site.example\nBcc: all@site.example"], subject: "hi", body: "b"),
            MailMessage(from: "labgate@lab-host.example\r", to: ["oncall@site.example"], subject: "hi", body: "b"),
            MailMessage(from: "labgate@lab-host.example", to: ["oncall@site.example"], subject: "hi", body: "b", messageID: "x@y\r\nBcc: z"),
        ] {
            let error = try await #require(throws: MailError.self) {
                try await client.send(message, via: SMTPServer(host: "127.0.0.1", port: port))
            }
            #expect(error.stage == .message)
            #expect(error.isPermanent)
        }
    }

    static func message() -> MailMessage {
        MailMessage(from: "labgate@lab-host.example", to: ["oncall@site.example"], subject: "test", body: "a test message")
    }
}

@Suite("SMTP client: what needs no server")
struct SMTPClientUnitTests {
    @Test("credentials may go in the clear only to a loopback address")
    func loopback() throws {
        for ip in ["127.0.0.1", "127.8.9.10", "::1"] {
            #expect(SMTPConnection.isLoopback(try SocketAddress(ipAddress: ip, port: 25)), "\(ip)")
        }
        for ip in ["10.0.0.5", "192.0.2.1", "128.0.0.1", "::2", "2001:db8::1"] {
            #expect(!SMTPConnection.isLoopback(try SocketAddress(ipAddress: ip, port: 25)), "\(ip)")
        }
        #expect(!SMTPConnection.isLoopback(nil))
    }
}
