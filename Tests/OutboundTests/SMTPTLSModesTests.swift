import Foundation
@testable import Outbound
import Testing
import TestSupport

/// The two other ways a relay may want to be spoken to: TLS from the first byte (port 465), and
/// HELO from a server that refuses EHLO.
@Suite("SMTP client: implicit TLS and the HELO fallback, against aiosmtpd", .serialized)
struct SMTPTLSModesTests {
    let client = SMTPClient(timeout: .seconds(20))

    static func message() -> MailMessage {
        MailMessage(
            from: "labgate@lab-host.example", to: ["oncall@site.example"], subject: "CRITICAL INC-03 co2 7.90 % above high 6.00 %",
            body: "Acknowledge: labgate deviations ack DEV-2026-0042 --comment \"...\"", date: Date(timeIntervalSince1970: 1_795_000_000))
    }

    @Test("implicit TLS: the handshake comes before the greeting, then AUTH over it; the server got the message over TLS")
    func implicitTLS() async throws {
        let certificate = try Certificate()
        let sink = try await SMTPSink(certificate: certificate, user: "labgate", password: "s3cret", implicitTLS: true)
        defer { sink.stop() }
        let server = SMTPServer(
            host: "localhost", port: sink.port, implicitTLS: true, user: "labgate", password: "s3cret", trustedCAFile: certificate.certificate)
        try await client.send(Self.message(), via: server)
        let received = try #require(try sink.received().first)
        #expect(received.tls && received.authenticated && received.auth_login == "labgate")
        #expect(received.extended_smtp == true)
        #expect(received.subject == Self.message().subject)
    }

    @Test("implicit TLS to a server whose certificate is not trusted fails at the handshake, before anything is sent")
    func implicitTLSUntrusted() async throws {
        let certificate = try Certificate()
        let sink = try await SMTPSink(certificate: certificate, implicitTLS: true)
        defer { sink.stop() }
        let error = await #expect(throws: MailError.self) {
            try await client.send(Self.message(), via: SMTPServer(host: "localhost", port: sink.port, implicitTLS: true))
        }
        #expect(error?.stage == .tls, "\(String(describing: error))")
        #expect(try sink.received().isEmpty)
    }

    @Test("implicit TLS against a plain server fails (the client never speaks in the clear)")
    func implicitTLSToPlainServer() async throws {
        let sink = try await SMTPSink()
        defer { sink.stop() }
        let error = await #expect(throws: MailError.self) {
            try await client.send(Self.message(), via: SMTPServer(host: "127.0.0.1", port: sink.port, implicitTLS: true))
        }
        #expect(error?.stage == .tls || error?.stage == .greeting, "\(String(describing: error))")
        #expect(try sink.received().isEmpty)
    }

    @Test("a server that refuses EHLO gets HELO, and the message")
    func heloFallback() async throws {
        let sink = try await SMTPSink(noEHLO: true)
        defer { sink.stop() }
        try await client.send(Self.message(), via: SMTPServer(host: "127.0.0.1", port: sink.port))
        let received = try #require(try sink.received().first)
        #expect(received.extended_smtp == false, "the session was opened with HELO")
        #expect(received.rcpt_tos == ["oncall@site.example"] && received.subject == Self.message().subject)
    }

    @Test("starttls required by a server that refuses EHLO (so offers no STARTTLS): refused, saying why, nothing sent")
    func heloOnlyCannotStartTLS() async throws {
        let sink = try await SMTPSink(noEHLO: true)
        defer { sink.stop() }
        let error = await #expect(throws: MailError.self) {
            try await client.send(Self.message(), via: SMTPServer(host: "127.0.0.1", port: sink.port, starttls: true))
        }
        #expect(error?.stage == .starttls && error?.text.contains("refused EHLO (502)") == true, "\(String(describing: error))")
        #expect(try sink.received().isEmpty)
    }
}
