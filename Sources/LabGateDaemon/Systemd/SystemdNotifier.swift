import Foundation
import Glibc
import LabGate

/// systemd's notify protocol, spoken directly: datagrams of `KEY=value` lines to the socket named
/// by NOTIFY_SOCKET (no libsystemd). Without NOTIFY_SOCKET every call does nothing, so the daemon
/// runs the same in a terminal.
public struct SystemdNotifier: Sendable {
    /// The socket path; a leading "@" names an abstract socket.
    public let socketPath: String?
    /// How often systemd wants WATCHDOG=1 (from WATCHDOG_USEC), if it watches at all.
    public let watchdogInterval: Duration?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let path = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        socketPath = path
        // WATCHDOG_PID, when set, must be ours: the variable may be inherited by a child.
        let forUs = environment["WATCHDOG_PID"].map { $0 == String(getpid()) } ?? true
        if forUs, let usec = environment["WATCHDOG_USEC"].flatMap(Int64.init), usec > 0 {
            watchdogInterval = .microseconds(usec)
        } else {
            watchdogInterval = nil
        }
    }

    public var isActive: Bool { socketPath != nil }

    public func ready(status: String? = nil) { send(["READY=1"] + (status.map { ["STATUS=\($0)"] } ?? [])) }
    public func status(_ text: String) { send(["STATUS=\(text)"]) }
    public func watchdog() { send(["WATCHDOG=1"]) }
    public func reloading() { send(["RELOADING=1"]) }
    public func stopping() { send(["STOPPING=1"]) }

    /// Sends one datagram; failures are ignored, as sd_notify does (systemd may not listen).
    @discardableResult
    public func send(_ assignments: [String]) -> Bool {
        guard let socketPath, let address = UnixSocketAddress(path: socketPath) else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let message = Array(assignments.joined(separator: "\n").utf8)
        let sent = address.withSockAddr { address, length in
            message.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), address, length) }
        }
        return sent == message.count
    }
}
