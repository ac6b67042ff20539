import Foundation
import Glibc
import LabGate
import Synchronization

/// systemd's notify protocol, spoken directly: datagrams of `KEY=value` lines to the socket named
/// by NOTIFY_SOCKET (no libsystemd). Without NOTIFY_SOCKET every call does nothing, so the daemon
/// runs the same in a terminal.
///
/// The datagram socket is opened once and kept: a daemon that has run out of descriptors (a user
/// holding connections, a leak) must still be able to say WATCHDOG=1, or systemd would kill a
/// daemon that works.
public struct SystemdNotifier: Sendable {
    /// The socket path; a leading "@" names an abstract socket.
    public let socketPath: String?
    /// How often systemd wants WATCHDOG=1 (from WATCHDOG_USEC), if it watches at all.
    public let watchdogInterval: Duration?

    private let socket: NotifySocket?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let path = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        socketPath = path
        socket = path == nil ? nil : NotifySocket()
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
    /// Never blocks (MSG_DONTWAIT, as libsystemd sends): a notify socket whose queue nobody reads
    /// would otherwise hang the daemon in its stop, its watchdog ping or its reload.
    @discardableResult
    public func send(_ assignments: [String]) -> Bool {
        guard let socketPath, let socket, let address = UnixSocketAddress(path: socketPath) else { return false }
        let message = Array(assignments.joined(separator: "\n").utf8)
        return socket.withDescriptor { fd in
            let sent = address.withSockAddr { address, length in
                message.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT), address, length) }
            }
            return sent == message.count
        } ?? false
    }

    /// The descriptor the notifier sends from (tests), -1 without one.
    var descriptor: Int32 { socket?.withDescriptor { $0 } ?? -1 }
}

/// The notifier's datagram socket: opened at once and kept for the notifier's life; opened again
/// at the next send if opening failed.
final class NotifySocket: Sendable {
    private let fd = Mutex<Int32>(-1)

    init() {
        fd.withLock { $0 = Self.open() }
    }

    deinit {
        fd.withLock { if $0 >= 0 { _ = close($0) } }
    }

    func withDescriptor<T>(_ body: (Int32) -> T) -> T? {
        fd.withLock { fd in
            if fd < 0 { fd = Self.open() }
            return fd >= 0 ? body(fd) : nil
        }
    }

    private static func open() -> Int32 {
        Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    }
}
