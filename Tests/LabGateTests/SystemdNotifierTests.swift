import Foundation
import Glibc
import Testing
@testable import LabGate

/// A datagram socket standing in for systemd's notify socket.
private final class NotifyReceiver {
    let path: String
    private let fd: Int32

    init() throws {
        path = NSTemporaryDirectory() + "notify-\(UUID().uuidString.prefix(8)).sock"
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit {
        close(fd)
        unlink(path)
    }

    func receive() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buffer, buffer.count, 0)
        return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : nil
    }
}

@Test("READY, STATUS, WATCHDOG and STOPPING reach the notify socket as systemd expects them")
func notifies() throws {
    let receiver = try NotifyReceiver()
    let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": receiver.path])
    notifier.ready(status: "polling 3 devices on 1 bus")
    #expect(receiver.receive() == "READY=1\nSTATUS=polling 3 devices on 1 bus")
    notifier.watchdog()
    #expect(receiver.receive() == "WATCHDOG=1")
    notifier.stopping()
    #expect(receiver.receive() == "STOPPING=1")
}

@Test("without NOTIFY_SOCKET nothing is sent, and the watchdog interval comes from WATCHDOG_USEC for this process only")
func inactiveWithoutSocket() {
    let quiet = SystemdNotifier(environment: [:])
    #expect(!quiet.isActive)
    #expect(!quiet.send(["READY=1"]))
    #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": "20000000"]).watchdogInterval == .seconds(20))
    #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "1"]).watchdogInterval == nil)
    #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": "20000000", "WATCHDOG_PID": String(getpid())]).watchdogInterval == .seconds(20))
}
