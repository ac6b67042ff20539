import Foundation
import Glibc

/// Debian's PostgreSQL 15 for one test (or one benchmark): its own cluster made by initdb in a
/// temporary folder, its own postgres on a free loopback port, no Unix socket outside that
/// folder. Tests connect as `user` with `password` over TCP (scram-sha-256, as a site would).
///
/// postgres refuses to run as root: as root, initdb and postgres run as Debian's `postgres`
/// system user (setpriv). A watchdog shell kills postgres when the process that started it dies,
/// so a test run killed -9 leaves no server behind. Its dynamic shared memory lives in the data
/// folder (mmap), so removing the folder removes everything it made.
public final class PostgreSQLServer: @unchecked Sendable {
    public static let binaries = "/usr/lib/postgresql/15/bin"
    public let port: Int
    public let user = "labgate"
    public let password = "labgate-test-\(UInt32.random(in: 0...UInt32.max))"
    public let database = "labgate"
    public let folder: TemporaryFolder
    public let dataFolder: String
    /// Whether postgres speaks TLS (ssl=on), with a certificate for 127.0.0.1 signed by a CA made
    /// for this server (`caFile`, PEM).
    public let tls: Bool
    public var caFile: String { folder.file("ca.crt") }
    private let lock = NSLock()
    private var process: ChildProcess?

    /// postgres://user@127.0.0.1:port/labgate (the password is in `passwordFile`).
    public var url: String { "postgres://\(user)@127.0.0.1:\(port)/\(database)" }
    /// A file holding `password`, mode 0600, as the daemon's `password_file` wants it.
    public var passwordFile: String { folder.file("password") }

    public init(port: Int = freePort(), tls: Bool = false) async throws {
        self.port = port
        self.tls = tls
        folder = try TemporaryFolder("labgate-postgres")
        // The folder must be reachable by the postgres user.
        chmod(folder.path, 0o755)
        dataFolder = folder.file("data")
        try FileManager.default.createDirectory(atPath: dataFolder, withIntermediateDirectories: false)
        try password.write(toFile: passwordFile, atomically: false, encoding: .utf8)
        chmod(passwordFile, 0o600)
        let initdbPassword = folder.file("initdb-password")
        try password.write(toFile: initdbPassword, atomically: false, encoding: .utf8)
        if Self.asRoot {
            chown(dataFolder, Self.postgresUser.uid, Self.postgresUser.gid)
            chown(initdbPassword, Self.postgresUser.uid, Self.postgresUser.gid)
        }
        let initdbCommand = Self.launcher + [
                Self.binaries + "/initdb", "-D", dataFolder, "-U", user, "--pwfile=\(initdbPassword)",
                "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
            ]
        let initdb = try runCommand(initdbCommand[0], Array(initdbCommand.dropFirst()), mergingErrors: true)
        guard initdb.status == 0 else { throw SetupFailed("initdb failed (\(initdb.status)): \(initdb.out)") }
        if tls { try makeCertificates() }
        try start()
        try await waitUntilReady()
        let created = try psql("CREATE DATABASE \(database)", database: "postgres")
        guard created.status == 0 else { throw SetupFailed("CREATE DATABASE failed: \(created.out)") }
    }

    deinit {
        kill()
    }

    /// Starts postgres on the cluster (again, after `stop` or `kill`).
    public func start() throws {
        let postgres = (Self.launcher + [
            Self.binaries + "/postgres", "-D", dataFolder,
            "-c", "listen_addresses=127.0.0.1", "-c", "port=\(port)",
            "-c", "unix_socket_directories=\(dataFolder)", "-c", "dynamic_shared_memory_type=mmap",
            // A test cluster: its data is thrown away, so it need not survive a power cut.
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
            "-c", "max_connections=50", "-c", "shared_buffers=64MB", "-c", "log_min_messages=warning",
        ] + (tls ? ["-c", "ssl=on", "-c", "ssl_cert_file=\(folder.file("server.crt"))", "-c", "ssl_key_file=\(folder.file("server.key"))"] : [])
        ).map { "'\($0)'" }.joined(separator: " ")
        // A watchdog shell between the test and postgres: it passes SIGINT on (fast shutdown),
        // turns SIGTERM into SIGKILL, and kills postgres when the test process is gone (killed -9
        // included), which the kernel's parent-death signal does not do here for root.
        let watchdog = """
            \(postgres) & pg=$!
            trap 'kill -INT $pg' INT
            trap 'kill -KILL $pg' TERM
            while kill -0 $pg 2>/dev/null; do
              kill -0 \(getpid()) 2>/dev/null || kill -KILL $pg
              sleep 0.2
            done
            """
        let child = try ChildProcess(
            "/bin/sh", ["-c", watchdog], folder: folder.path, name: "postgres", mergingErrors: true)
        lock.withLock { process = child }
    }

    /// A CA and a server certificate for 127.0.0.1 signed by it (openssl, P-256); the key
    /// readable by the postgres user only, as postgres insists.
    private func makeCertificates() throws {
        let steps: [[String]] = [
            ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
             "-subj", "/CN=labgate test site CA", "-keyout", folder.file("ca.key"), "-out", caFile],
            ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=127.0.0.1",
             "-keyout", folder.file("server.key"), "-out", folder.file("server.csr")],
            ["x509", "-req", "-in", folder.file("server.csr"), "-CA", caFile, "-CAkey", folder.file("ca.key"),
             "-CAcreateserial", "-days", "2", "-extfile", folder.file("san.cnf"), "-out", folder.file("server.crt")],
        ]
        try "subjectAltName = IP:127.0.0.1\n".write(toFile: folder.file("san.cnf"), atomically: false, encoding: .utf8)
        for step in steps {
            let result = try runCommand("/usr/bin/openssl", step, mergingErrors: true)
            guard result.status == 0 else { throw SetupFailed("openssl \(step[0]) failed: \(result.out)") }
        }
        chmod(folder.file("server.key"), 0o600)
        if Self.asRoot { chown(folder.file("server.key"), Self.postgresUser.uid, Self.postgresUser.gid) }
    }

    /// Waits until postgres accepts a query over TCP.
    public func waitUntilReady(timeout: Duration = .seconds(60)) async throws {
        try await eventually("postgres to accept queries", timeout: timeout, interval: .milliseconds(100)) { [self] in
            guard let process = lock.withLock({ self.process }), process.isRunning else {
                throw SetupFailed("postgres exited: \(lock.withLock { self.process?.stdout } ?? "")")
            }
            return (try? psql("SELECT 1", database: "postgres").status) == 0
        }
    }

    /// A fast shutdown (SIGINT: clients are disconnected, the cluster stays consistent), waited for.
    public func stop() async throws {
        guard let process = lock.withLock({ self.process }) else { return }
        process.kill(SIGINT)
        _ = try await process.wait(timeout: .seconds(60))
    }

    /// SIGKILL: the server is gone at once (its data is the test's temporary folder).
    public func kill() {
        guard let process = lock.withLock({ self.process }) else { return }
        process.kill(SIGTERM)
        process.process.waitUntilExit()
    }

    public var isRunning: Bool { lock.withLock { process?.isRunning } ?? false }

    /// What postgres logged so far (warnings and errors).
    public var log: String { lock.withLock { process?.stdout } ?? "" }

    /// Runs SQL through psql over TCP as `user`; `-At`: unaligned rows, tuples only.
    public func psql(_ sql: String, database: String? = nil, arguments: [String] = []) throws -> CommandResult {
        try runCommand(
            "/usr/bin/psql",
            ["-h", "127.0.0.1", "-p", String(port), "-U", user, "-d", database ?? self.database, "-v", "ON_ERROR_STOP=1",
             "-At", "-c", sql] + arguments,
            environment: ["PGPASSWORD": password, "PGCONNECT_TIMEOUT": "5"], mergingErrors: false)
    }

    /// The rows a query returns, each a list of its columns (psql's unaligned output, `|` between).
    public func rows(_ sql: String) throws -> [[String]] {
        let result = try psql(sql)
        guard result.status == 0 else { throw SetupFailed("psql failed: \(sql): \(result.err)") }
        return result.out.split(separator: "\n", omittingEmptySubsequences: true).map {
            $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        }
    }

    private static let asRoot = getuid() == 0

    /// What runs initdb and postgres: setpriv as the postgres user when root, nothing otherwise.
    private static var launcher: [String] {
        if asRoot {
            return ["/usr/bin/setpriv", "--reuid=\(postgresUser.uid)", "--regid=\(postgresUser.gid)", "--init-groups"]
        }
        return []
    }

    private static let postgresUser: (uid: uid_t, gid: gid_t) = {
        guard let entry = getpwnam("postgres") else {
            fatalError("no postgres user: run scripts/deps --test (Debian's postgresql-15 makes it)")
        }
        return (entry.pointee.pw_uid, entry.pointee.pw_gid)
    }()
}
