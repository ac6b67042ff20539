import Foundation
import Glibc
import LabGate

/// The real daemon (`labgated`, the binary $LABGATE names) as a child process, with a
/// NOTIFY_SOCKET held here as systemd holds it, its stdout and stderr in files.
final class DaemonProcess {
    let pid: pid_t
    /// When posix_spawn was called (monotonic).
    let spawned: ContinuousClock.Instant
    let errPath: String
    private let notify: NotifySocket
    private(set) var exit: (status: Int32, usage: rusage)?

    /// $LABGATE: `scripts/bench` sets it to labgated's own release build (the daemon as it is
    /// linked for systemd), unless it names another build to compare (a build from before
    /// labgated is its `labgate`, run as `labgate run`).
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["LABGATE"], !path.isEmpty { return path }
        return "labgated"
    }

    /// The daemon's command line before `--config`.
    static var command: [String] {
        URL(fileURLWithPath: binary).lastPathComponent == "labgate" ? [binary, "run"] : [binary]
    }

    init(config: String, folder: String, name: String = "daemon") throws {
        notify = try NotifySocket(path: folder + "/notify.sock")
        errPath = folder + "/\(name).err"
        var environment = ProcessInfo.processInfo.environment
        environment["JOURNAL_STREAM"] = nil
        environment["WATCHDOG_USEC"] = nil
        environment["NOTIFY_SOCKET"] = notify.path
        let binary = Self.binary
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw BenchError("no labgated binary at \"\(binary)\": LABGATE names it (scripts/bench builds it and sets it)") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, folder + "/\(name).out", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv: [UnsafeMutablePointer<CChar>?] = (Self.command + ["--config", config]).map { $0.withCString { strdup($0) } } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { "\($0.key)=\($0.value)".withCString { strdup($0) } } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        spawned = .now
        let rc = posix_spawn(&pid, binary, &actions, nil, argv, envp)
        guard rc == 0 else { throw BenchError("posix_spawn \(binary): \(String(cString: strerror(rc)))") }
        self.pid = pid
    }

    deinit {
        if exit == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }

    /// Waits for READY=1 on the notify socket; returns when it arrived (monotonic).
    func waitReady(timeout: Duration = .seconds(30)) throws -> ContinuousClock.Instant {
        let deadline = ContinuousClock.now + timeout
        while true {
            guard let (message, at) = notify.receive(until: deadline) else {
                throw BenchError("no READY=1 within \(timeout); see \(errPath)")
            }
            if message.split(separator: "\n").contains("READY=1") { return at }
        }
    }

    /// Reads (and drops) the daemon's sd_notify messages from now on, as systemd does: a socket
    /// nobody reads fills up after a few minutes of STATUS and WATCHDOG messages, and the
    /// daemon's next send then blocks (its stop among them).
    func keepReadingNotifications() {
        nonisolated(unsafe) let socket = notify
        Thread.detachNewThread {
            while true { _ = socket.receive(until: .now + .seconds(3600)) }
        }
    }

    /// Sends SIGTERM and waits for the exit; returns (when the signal was sent, when wait4 returned).
    func terminate() throws -> (sent: ContinuousClock.Instant, exited: ContinuousClock.Instant) {
        let sent = ContinuousClock.now
        kill(pid, SIGTERM)
        var status: Int32 = 0
        var usage = rusage()
        guard wait4(pid, &status, 0, &usage) == pid else { throw BenchError("wait4: \(String(cString: strerror(errno)))") }
        let exited = ContinuousClock.now
        exit = (status, usage)
        return (sent, exited)
    }

    /// Why it is gone, if it ended by itself (reaps it).
    func ended() -> String? {
        var status: Int32 = 0
        var usage = rusage()
        guard wait4(pid, &status, WNOHANG, &usage) == pid else { return nil }
        exit = (status, usage)
        let signal = status & 0x7f
        return signal == 0 ? "exited with status \((status >> 8) & 0xff)" : "killed by signal \(signal)"
    }

    /// Throws, saying how, when it ended by itself.
    func checkAlive() throws {
        if let how = ended() { throw BenchError("the daemon \(how); see \(errPath)") }
    }

    var stderr: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

    /// utime + stime of the whole process (every thread), in seconds, from /proc/PID/stat.
    func cpuSeconds() -> Double? {
        guard let stat = procFile("/proc/\(pid)/stat"),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is the state (field 3 of proc(5)); utime and stime are fields 14 and 15.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// A `Vm…:` line of /proc/PID/status in kB (VmHWM: peak resident set; VmRSS: now).
    func status(_ key: String) -> Int? {
        guard let text = procFile("/proc/\(pid)/status") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
            return Int(line.dropFirst(key.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "")
        }
        return nil
    }

    /// Threads of the process now.
    var threads: Int? {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task"))?.count
    }
}

/// A unix datagram socket bound at `path`: where the daemon's sd_notify messages arrive.
final class NotifySocket {
    let path: String
    private let fd: Int32

    init(path: String) throws {
        unlink(path)
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket: \(String(cString: strerror(errno)))") }
        guard let address = UnixSocketAddress(path: path) else { throw BenchError("socket path too long: \(path)") }
        guard address.bind(fd) else { throw BenchError("bind \(path): \(String(cString: strerror(errno)))") }
    }

    deinit {
        close(fd)
        unlink(path)
    }

    /// The next datagram and when it arrived, or nil at `deadline`.
    func receive(until deadline: ContinuousClock.Instant) -> (String, ContinuousClock.Instant)? {
        while true {
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else { return nil }
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&entry, 1, Int32(max(1, ms(left))))
            let at = ContinuousClock.now
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count > 0 else { continue }
            return (String(decoding: buffer[..<count], as: UTF8.self), at)
        }
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The machine around the run: load average and how busy all cores were.
enum Machine {
    static var loadavg: String {
        (procFile("/proc/loadavg") ?? "?").split(separator: " ").prefix(3).joined(separator: " ")
    }

    /// (busy, total) jiffies over all cores from /proc/stat.
    static func cpuJiffies() -> (busy: Double, total: Double) {
        guard let text = procFile("/proc/stat"),
            let line = text.split(separator: "\n").first
        else { return (0, 0) }
        let values = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard values.count >= 5 else { return (0, 0) }
        let total = values.prefix(8).reduce(0, +)
        let idle = values[3] + values[4]
        return (total - idle, total)
    }

    static var cores: Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    /// This process's CPU time (the simulator), in seconds.
    static func ownCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    static func seconds(_ value: timeval) -> Double { Double(value.tv_sec) + Double(value.tv_usec) / 1e6 }
}

/// A /proc file's text (read to the end: their size says 0).
func procFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 8192)
    while true {
        let count = read(fd, &buffer, buffer.count)
        guard count > 0 else { break }
        bytes += buffer[..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
}
