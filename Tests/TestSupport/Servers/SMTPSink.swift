import Foundation
import Glibc

/// A real SMTP server on loopback for a test: aiosmtpd (Debian's python3-aiosmtpd) running
/// smtp_sink.py, which parses each message it accepts with Python's email package and writes it
/// to a folder (see the script for its options).
public final class SMTPSink {
    public let port: Int
    public let folder: TemporaryFolder
    private let process: ChildProcess

    /// What the server received and made of one message.
    public struct Received: Decodable {
        public var mail_from: String
        public var rcpt_tos: [String]
        public var tls: Bool
        public var authenticated: Bool
        public var auth_login: String?
        /// Whether the client said EHLO (false: HELO).
        public var extended_smtp: Bool?
        public var headers: [[String]]
        public var subject: String
        public var content_type: String
        public var charset: String?
        public var transfer_encoding: String?
        public var body: String
        public var raw: String

        public func header(_ name: String) -> String? {
            headers.first { $0[0].lowercased() == name.lowercased() }?[1]
        }
    }

    /// `implicitTLS` (with a certificate): TLS from the first byte, as on port 465; `noEHLO`: EHLO
    /// is answered 502, as by a server that knows only HELO.
    public init(
        certificate: Certificate? = nil, user: String? = nil, password: String? = nil, loginOnly: Bool = false, reject: [String] = [],
        implicitTLS: Bool = false, noEHLO: Bool = false
    ) async throws {
        folder = try TemporaryFolder("labgate-smtp")
        port = freePort()
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("smtp_sink.py").path
        var arguments = [script, "--port", "\(port)", "--folder", folder.path]
        if let certificate { arguments += ["--cert", certificate.certificate, "--key", certificate.key] }
        if let user { arguments += ["--user", user, "--password", password ?? ""] }
        if loginOnly { arguments.append("--login-only") }
        if implicitTLS { arguments.append("--implicit-tls") }
        if noEHLO { arguments.append("--no-ehlo") }
        for address in reject { arguments += ["--reject", address] }
        // Debian's python3, where python3-aiosmtpd is installed (not another python on PATH).
        process = try ChildProcess("/usr/bin/python3", arguments, folder: folder.path, name: "aiosmtpd")
        try await eventually("aiosmtpd to be ready", timeout: .seconds(20)) { [process] in
            guard process.isRunning else { throw SetupFailed("aiosmtpd exited: \(process.stderr)") }
            return process.stdout.contains("ready")
        }
    }

    deinit {
        stop()
    }

    /// SIGKILL: the sink keeps nothing but the files it already wrote whole.
    public func stop() {
        process.kill(SIGKILL)
        process.process.waitUntilExit()
    }

    /// The messages received so far, in order.
    public func received() throws -> [Received] {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }
        return try names.sorted { Int($0.dropLast(5))! < Int($1.dropLast(5))! }.map {
            try JSONDecoder().decode(Received.self, from: Data(contentsOf: URL(fileURLWithPath: folder.file($0))))
        }
    }
}

/// A self-signed certificate for localhost and 127.0.0.1, made with openssl for one test.
public struct Certificate {
    public let folder: TemporaryFolder
    public var certificate: String { folder.file("cert.pem") }
    public var key: String { folder.file("key.pem") }

    public init() throws {
        folder = try TemporaryFolder("labgate-cert")
        let result = try runCommand("openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", folder.file("key.pem"), "-out", folder.file("cert.pem"), "-days", "2",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
        guard result.status == 0 else { throw SetupFailed("openssl: \(result.err)") }
    }
}

/// A server a test needs did not start.
public struct SetupFailed: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
