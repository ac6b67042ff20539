import Foundation
import Glibc
import LabGate
import Testing

/// systemd's side of the notify protocol: a datagram socket that collects what the daemon says.
final class NotifySocket: @unchecked Sendable {
    let path: String
    private let fd: Int32
    private let lock = NSLock()
    private var messages: [String] = []

    init(folder: String) throws {
        let path = folder + "/notify.sock"
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        self.path = path
        self.fd = fd
        guard let address = UnixSocketAddress(path: path), address.bind(fd) else { throw HarnessError("cannot bind \(path)") }
        Thread.detachNewThread { [weak self] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = recv(fd, &buffer, buffer.count, 0)
                guard n > 0, let self else { return }
                self.lock.withLock { self.messages.append(String(decoding: buffer[0..<n], as: UTF8.self)) }
            }
        }
    }

    deinit { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }

    var received: [String] { lock.withLock { messages } }
}

@Test("under systemd the daemon says READY=1 once polling runs, pings the watchdog, and says STOPPING=1 on SIGTERM")
func notifyProtocol() async throws {
    let harness = try Harness(config: """
        site: e2e
        store: FOLDER/labgate.sqlite
        alerts: FOLDER
        buses:
          - id: lan
            tcp: { host: 127.0.0.1, port: PORT }
        devices:
          - { id: FRZ-01, kind: freezer, bus: lan, unit: 3, profile: frz, every: 200ms }
        profiles:
          frz:
            temperature: { table: input, address: 0, type: int16, scale: 0.1, unit: "°C" }
        """)
    let notify = try NotifySocket(folder: harness.folder)
    try await harness.startSim()
    try harness.startDaemon(environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "400000"])
    try await eventually("READY and watchdog pings", timeout: .seconds(20)) {
        notify.received.filter { $0 == "WATCHDOG=1" }.count >= 3
    }
    // Opening the store asks for start time first (a migration may take minutes), then READY.
    #expect(notify.received.first?.hasPrefix("EXTEND_TIMEOUT_USEC=60000000\nSTATUS=opening the store ") == true)
    let first = try #require(notify.received.first { !$0.hasPrefix("EXTEND_TIMEOUT_USEC=") })
    #expect(first.hasPrefix("READY=1\nSTATUS=polling 1 devices on 1 buses"), "READY comes before any ping")
    try await eventually("STATUS with open deviations", timeout: .seconds(10)) {
        notify.received.contains("STATUS=polling 1 devices on 1 buses; 0 open deviation(s)")
    }
    harness.daemon?.kill(SIGTERM)
    #expect(try await harness.daemon?.wait(timeout: .seconds(10)) == 0)
    try await eventually("STOPPING", timeout: .seconds(2)) { notify.received.contains("STOPPING=1") }
    #expect(notify.received.filter { $0.hasPrefix("READY=1") }.count == 1)
}
