import Foundation
import Glibc
import Synchronization
import TestSupport

/// A real SMTP server on loopback for a test: aiosmtpd (Debian's python3-aiosmtpd) running
/// smtp_sink.py, which parses each message it accepts with Python's email package and writes it
/// to a folder (see the script for its options).
final class SMTPSink {
    let port: Int
    let folder: TemporaryFolder
    private let process: ChildProcess

    /// What the server received and made of one message.
    struct Received: Decodable {
        var mail_from: String
        var rcpt_tos: [String]
        var tls: Bool
        var authenticated: Bool
        var auth_login: String?
        var headers: [[String]]
        var subject: String
        var content_type: String
        var charset: String?
        var transfer_encoding: String?
        var body: String
        var raw: String

        func header(_ name: String) -> String? {
            headers.first { $0[0].lowercased() == name.lowercased() }?[1]
        }
    }

    init(certificate: Certificate? = nil, user: String? = nil, password: String? = nil, loginOnly: Bool = false, reject: [String] = []) async throws {
        folder = try TemporaryFolder("labgate-smtp")
        port = freePort()
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("smtp_sink.py").path
        var arguments = [script, "--port", "\(port)", "--folder", folder.path]
        if let certificate { arguments += ["--cert", certificate.certificate, "--key", certificate.key] }
        if let user { arguments += ["--user", user, "--password", password ?? ""] }
        if loginOnly { arguments.append("--login-only") }
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
    func stop() {
        process.kill(SIGKILL)
        process.process.waitUntilExit()
    }

    /// The messages received so far, in order.
    func received() throws -> [Received] {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }
        return try names.sorted { Int($0.dropLast(5))! < Int($1.dropLast(5))! }.map {
            try JSONDecoder().decode(Received.self, from: Data(contentsOf: URL(fileURLWithPath: folder.file($0))))
        }
    }
}

/// A self-signed certificate for localhost and 127.0.0.1, made with openssl for one test.
struct Certificate {
    let folder: TemporaryFolder
    var certificate: String { folder.file("cert.pem") }
    var key: String { folder.file("key.pem") }

    init() throws {
        folder = try TemporaryFolder("labgate-cert")
        let result = try runCommand("openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", folder.file("key.pem"), "-out", folder.file("cert.pem"), "-days", "2",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
        guard result.status == 0 else { throw SetupFailed("openssl: \(result.err)") }
    }
}

/// A TCP listener on loopback that takes connections and never says a word: the kernel completes
/// the handshake, nobody ever answers.
final class SilentServer {
    let port: Int
    private let fd: Int32

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = loopbackAddress(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 8) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else { throw POSIXError(.EADDRINUSE) }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit {
        close(fd)
    }
}

/// A server a test needs did not start.
struct SetupFailed: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// An SMTP peer that answers each line the client sends as a test says, for misbehaviour no real
/// server shows: one connection, a greeting, then `answer(line)` written as it is (nil: close).
final class ScriptedSMTPServer: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let lines = Lines()

    private final class Lines: Sendable {
        let value = Mutex<[String]>([])
    }

    init(answer: @escaping @Sendable (String) -> String?) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var address = loopbackAddress(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 8) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        guard ok else { throw POSIXError(.EADDRINUSE) }
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [lines] in
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { return }
            defer { close(fd) }
            func write(_ text: String) -> Bool {
                Array(text.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) == $0.count }
            }
            guard write("220 scripted ESMTP\r\n") else { return }
            var pending: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                guard count > 0 else { return }
                pending += buffer[..<count]
                while let end = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: pending[..<end], as: UTF8.self).trimmingCharacters(in: .newlines)
                    pending.removeSubrange(...end)
                    lines.value.withLock { $0.append(line) }
                    guard let reply = answer(line), write(reply) else { return }
                }
            }
        }
    }

    deinit {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    /// The lines the client sent so far.
    var received: [String] { lines.value.withLock { $0 } }
}
