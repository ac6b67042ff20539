import Foundation
import Glibc
import TestSupport
import Testing
@testable import LabGate
@testable import LabGateDaemon

@Suite("descriptors that must not run out")
struct KeptDescriptorTests {
    @Test("the alert log keeps its files open and follows a rotation by rename to the new file")
    func alertLogKeepsItsFiles() throws {
        let folder = try TemporaryFolder()
        let log = try AlertLog(folder: folder.path)
        let event = AlertEvent(time: Date(), severity: .info, event: .busUp, device: "lan")
        try log.write(event)
        let open = openDescriptors()
        for _ in 0..<5 { try log.write(event) }
        #expect(openDescriptors() == open, "no descriptor opened per event")
        // Without a descriptor to spare, events still get out: the files are open already.
        try withoutSpareDescriptors { try log.write(event) }
        #expect(lines(log.textPath) == 7)

        // logrotate renames the file away: the next event goes to a new alerts.log.
        try FileManager.default.moveItem(atPath: log.textPath, toPath: log.textPath + ".1")
        try log.write(event)
        #expect(lines(log.textPath + ".1") == 7)
        #expect(lines(log.textPath) == 1)
    }

    @Test("the notifier sends every datagram from one socket, also with no descriptor to spare")
    func notifierKeepsItsSocket() throws {
        let folder = try TemporaryFolder("labgate-notify")
        let path = folder.file("notify.sock")
        let receiver = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(receiver) }
        guard let address = UnixSocketAddress(path: path), address.bind(receiver) else { throw POSIXError(.EADDRINUSE) }
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": path])
        let open = openDescriptors()
        let sent = withoutSpareDescriptors { notifier.send(["WATCHDOG=1"]) }
        #expect(sent, "WATCHDOG=1 sent while the process had no descriptor left")
        #expect(openDescriptors() == open)
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = recv(receiver, &buffer, buffer.count, Int32(MSG_DONTWAIT))
        #expect(n > 0 && String(decoding: buffer[0..<n], as: UTF8.self) == "WATCHDOG=1")
    }
}

private func lines(_ path: String) -> Int {
    ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").count
}

private func openDescriptors() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
}

/// Runs `body` while this process has no descriptor to spare: the soft limit lowered to a little
/// above what is open, and every descriptor below it taken; all put back afterwards.
private func withoutSpareDescriptors<T>(_ body: () throws -> T) rethrows -> T {
    var saved = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &saved)
    var lowered = saved
    lowered.rlim_cur = rlim_t(min(UInt64(saved.rlim_cur), UInt64(openDescriptors() + 64)))
    setrlimit(Int32(RLIMIT_NOFILE.rawValue), &lowered)
    var held: [Int32] = []
    held.reserveCapacity(256)
    while held.count < 256 {
        let fd = dup(0)
        if fd < 0 { break }
        held.append(fd)
    }
    defer {
        held.forEach { close($0) }
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &saved)
    }
    #expect(dup(0) < 0 && errno == EMFILE, "no descriptor left")
    return try body()
}
