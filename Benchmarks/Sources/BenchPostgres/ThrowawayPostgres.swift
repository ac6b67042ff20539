import BenchSupport
import Foundation
import Glibc

/// Debian's PostgreSQL 15 for one benchmark run, made as the tests make theirs
/// (Tests/TestSupport/Servers/PostgreSQLServer.swift): initdb in a temporary folder, postgres on a
/// loopback port, run as the `postgres` user through setpriv when root. Unlike the tests' server
/// it keeps PostgreSQL's durable defaults (fsync, synchronous_commit on): a forwarder must not be
/// measured against a server that may lose what it confirmed.
public final class ThrowawayPostgres {
    static let binaries = "/usr/lib/postgresql/15/bin"
    public let folder: String
    public let port: Int
    public let user = "labgate"
    public let database = "labgate"
    private var process: Process?

    public var url: String { "postgres://\(user)@127.0.0.1:\(port)/\(database)" }

    public init(port: Int) throws {
        self.port = port
        folder = NSTemporaryDirectory() + "labgate-bench-postgres-\(getpid())"
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.createDirectory(atPath: folder + "/data", withIntermediateDirectories: true)
        chmod(folder, 0o755)
        if Self.asRoot { chown(folder + "/data", Self.postgresUser.uid, Self.postgresUser.gid) }
        let initdb = try Self.run(Self.launcher + [
            Self.binaries + "/initdb", "-D", folder + "/data", "-U", user, "--auth=trust", "-E", "UTF8",
            "--locale=C.UTF-8", "--no-sync",
        ])
        guard initdb.status == 0 else { fail("initdb failed: \(initdb.output)") }
        let postgres = Process()
        postgres.executableURL = URL(fileURLWithPath: (Self.launcher.first ?? Self.binaries + "/postgres"))
        postgres.arguments = Array((Self.launcher + [Self.binaries + "/postgres"]).dropFirst()) + [
            "-D", folder + "/data", "-c", "listen_addresses=127.0.0.1", "-c", "port=\(port)",
            "-c", "unix_socket_directories=\(folder)/data", "-c", "dynamic_shared_memory_type=mmap",
            "-c", "shared_buffers=256MB", "-c", "max_wal_size=4GB", "-c", "log_min_messages=warning",
        ]
        postgres.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        postgres.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try postgres.run()
        process = postgres
        let deadline = monotonicSeconds() + 60
        while (try? psql("SELECT 1", database: "postgres").status) != 0 {
            guard monotonicSeconds() < deadline, postgres.isRunning else { fail("postgres did not start") }
            usleep(100_000)
        }
        guard try psql("CREATE DATABASE \(database)", database: "postgres").status == 0 else { fail("CREATE DATABASE failed") }
    }

    /// A fast shutdown, and the cluster's folder removed.
    public func stop() {
        if let process, process.isRunning {
            kill(process.processIdentifier, SIGINT)
            process.waitUntilExit()
        }
        process = nil
        try? FileManager.default.removeItem(atPath: folder)
    }

    deinit { stop() }

    /// The postgres processes' CPU seconds so far (user + system, from /proc), for the record.
    public var cpuSeconds: Double {
        guard let process else { return 0 }
        return processTreeCPUSeconds(root: process.processIdentifier)
    }

    public func psql(_ sql: String, database: String? = nil) throws -> (status: Int32, output: String) {
        try Self.run([
            "/usr/bin/psql", "-h", "127.0.0.1", "-p", String(port), "-U", user, "-d", database ?? self.database,
            "-v", "ON_ERROR_STOP=1", "-At", "-c", sql,
        ])
    }

    static func run(_ command: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    private static let asRoot = getuid() == 0

    private static var launcher: [String] {
        asRoot ? ["/usr/bin/setpriv", "--reuid=\(postgresUser.uid)", "--regid=\(postgresUser.gid)", "--init-groups"] : []
    }

    private static let postgresUser: (uid: uid_t, gid: gid_t) = {
        guard let entry = getpwnam("postgres") else { fail("no postgres user: run scripts/deps --test") }
        return (entry.pointee.pw_uid, entry.pointee.pw_gid)
    }()
}

/// CPU seconds (user + system, its reaped children included) of `root` and every process below it, from /proc.
public func processTreeCPUSeconds(root: pid_t) -> Double {
    let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
    var children: [pid_t: [pid_t]] = [:]
    var times: [pid_t: Double] = [:]
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
        guard let pid = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { continue }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the name: state, ppid, ..., utime (14th field overall, 12th here), stime.
        // With cutime and cstime: what its exited children (psql's backends) used.
        guard fields.count > 15, let parent = pid_t(fields[1]) else { continue }
        children[parent, default: []].append(pid)
        times[pid] = fields[11...14].compactMap { Double($0) }.reduce(0, +) / ticks
    }
    var total = 0.0
    var queue = [root]
    while let pid = queue.popLast() {
        total += times[pid] ?? 0
        queue += children[pid] ?? []
    }
    return total
}
