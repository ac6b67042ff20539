import Foundation
import Glibc
import Logging
import Testing
@testable import LabGate
@testable import LabGateDaemon

/// A datagram socket standing in for systemd's notify socket.
private final class NotifyReceiver {
    let path: String
    private let fd: Int32
    private let folder: TemporaryFolder

    init() throws {
        folder = try TemporaryFolder("labgate-notify")
        path = folder.file("notify.sock")
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard let address = UnixSocketAddress(path: path), address.bind(fd) else { throw POSIXError(.EADDRINUSE) }
        applyTimeout()
    }

    /// How long `receive` waits for a datagram.
    var timeout: Duration = .seconds(2) {
        didSet { applyTimeout() }
    }

    private func applyTimeout() {
        let micros = Int(timeout.components.seconds * 1_000_000 + timeout.components.attoseconds / 1_000_000_000_000)
        var value = timeval(tv_sec: micros / 1_000_000, tv_usec: micros % 1_000_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit {
        close(fd)
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

@Test("a bus that is not back by the time it promised is stuck; a finished bus is not watched")
func heartbeat() {
    let heartbeat = SchedulerHeartbeat()
    let now = ContinuousClock.now
    heartbeat.expect(bus: "lan", backBy: now + .seconds(10))
    heartbeat.expect(bus: "rs485-a", backBy: now + .seconds(1))
    #expect(heartbeat.stuckBuses(at: now).isEmpty)
    #expect(heartbeat.stuckBuses(at: now + .seconds(2)) == ["rs485-a"])
    heartbeat.expect(bus: "rs485-a", backBy: now + .seconds(20))
    #expect(heartbeat.stuckBuses(at: now + .seconds(11)) == ["lan"])
    heartbeat.finished(bus: "lan")
    #expect(heartbeat.stuckBuses(at: now + .seconds(11)).isEmpty)
}

@Test("the watchdog pings while the schedulers keep their promises and stays silent while one is stuck")
func watchdogWithheldWhenStuck() async throws {
    let receiver = try NotifyReceiver()
    let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": receiver.path, "WATCHDOG_USEC": "100000"])
    let heartbeat = SchedulerHeartbeat()
    heartbeat.markStarted()
    heartbeat.expect(bus: "lan", backBy: .now - .seconds(1))
    let service = Task { await WatchdogService(notifier: notifier, heartbeat: heartbeat, logger: .init(label: "test")).run() }
    defer { service.cancel() }
    receiver.timeout = .milliseconds(400)
    #expect(receiver.receive() == nil, "no ping while bus lan is overdue")
    heartbeat.expect(bus: "lan", backBy: .now + .seconds(60))
    receiver.timeout = .seconds(2)
    #expect(receiver.receive() == "WATCHDOG=1")
}

@Test("a long start step (a store migration) keeps asking systemd for more start time while it runs, and stops asking when it ends")
func extendsStartTimeout() throws {
    let receiver = try NotifyReceiver()
    let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": receiver.path])
    let value = notifier.extendingStartTimeout(status: "migrating", every: .milliseconds(100), window: .seconds(3)) {
        Thread.sleep(forTimeInterval: 0.45)
        return 7
    }
    #expect(value == 7)
    #expect(receiver.receive() == "EXTEND_TIMEOUT_USEC=3000000\nSTATUS=migrating")
    var extensions = 0
    receiver.timeout = .milliseconds(400)
    while extensions < 20, let message = receiver.receive() {
        #expect(message == "EXTEND_TIMEOUT_USEC=3000000")
        extensions += 1
    }
    // One every 100 ms over 450 ms, then none once the step has returned (the receive timed out).
    #expect(extensions >= 2 && extensions <= 5)
}

@Test("a notify socket whose queue nobody reads never blocks the daemon: sends past a full queue fail at once")
func fullNotifySocketDoesNotBlock() throws {
    let receiver = try NotifyReceiver()
    let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": receiver.path])
    let started = ContinuousClock.now
    var refused = 0
    // A unix datagram queue holds a few hundred messages (net.unix.max_dgram_qlen); a blocking
    // send would hang here for good once it is full.
    for _ in 0..<5_000 where !notifier.send(["WATCHDOG=1"]) { refused += 1 }
    #expect(refused > 0, "the queue never filled")
    #expect(ContinuousClock.now - started < .seconds(10))
    #expect(receiver.receive() == "WATCHDOG=1", "what was queued is still delivered")
}
