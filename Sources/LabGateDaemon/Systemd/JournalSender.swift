import Foundation
import Glibc
import LabGate

/// Structured entries sent to journald over its native socket (datagrams of fields; no
/// libsystemd), as `sd_journal_send` does: `journalctl -o json FIELD=value` finds them by their
/// own fields. The datagram socket is opened once and kept (`NotifySocket`).
public struct JournalSender: Sendable {
    /// journald's socket: its namespace's when the unit logs to one (LogNamespace=, which systemd
    /// passes as LOG_NAMESPACE).
    public let socketPath: String
    /// The journal namespace, nil for the system journal.
    public let namespace: String?
    private let socket = NotifySocket()

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        if let namespace = environment["LOG_NAMESPACE"], !namespace.isEmpty {
            self.namespace = namespace
            socketPath = "/run/systemd/journal.\(namespace)/socket"
        } else {
            namespace = nil
            socketPath = "/run/systemd/journal/socket"
        }
    }

    /// Whether the daemon runs under journald, as systemd documents it: JOURNAL_STREAM names the
    /// device and inode of its stderr, or INVOCATION_ID says systemd started it as a unit.
    public static func runsUnderJournald(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        if let stream = environment["JOURNAL_STREAM"] {
            let parts = stream.split(separator: ":").compactMap { UInt64($0) }
            var status = stat()
            if parts.count == 2, fstat(2, &status) == 0, UInt64(status.st_dev) == parts[0], UInt64(status.st_ino) == parts[1] {
                return true
            }
        }
        return environment["INVOCATION_ID"].map { !$0.isEmpty } ?? false
    }

    /// Sends one entry; the reason when journald did not take it.
    @discardableResult
    public func send(_ fields: [(String, String)]) -> String? {
        guard let address = UnixSocketAddress(path: socketPath) else { return "bad journal socket path \(socketPath)" }
        let message = Self.encode(fields)
        let result = socket.withDescriptor { fd -> String? in
            let sent = address.withSockAddr { address, length in
                message.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), address, length) }
            }
            return sent == message.count ? nil : "cannot send to \(socketPath): \(String(cString: strerror(errno)))"
        }
        return result ?? "cannot open a datagram socket: \(String(cString: strerror(errno)))"
    }

    /// `FIELD=value` lines; a value with a newline in journald's binary form (the name, a newline,
    /// the length as 64-bit little endian, the value, a newline).
    static func encode(_ fields: [(String, String)]) -> [UInt8] {
        var bytes: [UInt8] = []
        for (name, value) in fields {
            let data = Array(value.utf8)
            bytes += Array(name.utf8)
            if data.contains(UInt8(ascii: "\n")) {
                bytes.append(UInt8(ascii: "\n"))
                withUnsafeBytes(of: UInt64(data.count).littleEndian) { bytes += $0 }
            } else {
                bytes.append(UInt8(ascii: "="))
            }
            bytes += data
            bytes.append(UInt8(ascii: "\n"))
        }
        return bytes
    }
}
