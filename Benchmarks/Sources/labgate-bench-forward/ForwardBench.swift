import ArgumentParser
import BenchPostgres
import BenchSupport
import Foundation
import GRDB
@_spi(Benchmarks) import LabGate
import Logging
import SiteStore

// Forwarding a backlog to the site store (issue 17, figure 1): a gateway store holding a backlog
// (`--readings`, written by labgate's own writer code: 250 devices x 4 channels sealed once per
// second, as the daemon writes them) is forwarded by the real Forwarder to a throwaway PostgreSQL
// 15 on loopback, timed from start to every reading confirmed. In the same run psql COPYs the same
// readings (exported from the site store beforehand, outside the timing) into an identical empty
// `reading` table (the same migrations: partitions, key and index), timed alike. Rounds alternate
// which goes first, each into a database of its own.
//
//   scripts/bench forward [--readings 2000000] [--rounds 3] [--batch 50000]
//
// Targets: the forwarder >= 0.5 of COPY's readings per second, and >= 100,000 readings/s.

@main
struct ForwardBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "labgate-bench-forward",
        abstract: "forwarding a backlog to PostgreSQL against psql's COPY of the same readings.")

    @Option(help: "Readings in the backlog.") var readings = 2_000_000
    @Option(help: "Devices (4 channels each, one seal per second of polls).") var devices = 250
    @Option(help: "Rounds (each: the forwarder and COPY, into fresh databases).") var rounds = 3
    @Option(help: "Readings per forwarder batch (default: the daemon's).") var batch: Int?
    @Option(help: "Folder for the backlog store (kept; a rerun reuses it).") var cache = "Benchmarks/.build/forward"
    @Option(help: "PostgreSQL's port on loopback.") var port = 25432

    func validate() throws {
        guard readings > 0, devices > 0, rounds > 0 else { throw ValidationError("numbers above 0") }
    }

    func run() async throws {
        print("machine: \(machineSummary())")
        let store = try BacklogStore(readings: readings, devices: devices, cache: cache).path()
        let local = try ReadingStore(path: store.path)
        var readOnly = Configuration()
        readOnly.readonly = true
        let (newest, seals) = try await DatabaseQueue(path: store.path, configuration: readOnly).read { db in
            (try Int64.fetchOne(db, sql: "SELECT max(rowid) FROM reading") ?? 0, try Int64.fetchOne(db, sql: "SELECT max(id) FROM reading_seal") ?? 0)
        }
        print("backlog: \(store.said)")
        let server = try ThrowawayPostgres(port: port)
        defer { server.stop() }
        let exported = server.folder + "/readings.copy"
        var options = Forwarder.Options()
        if let batch { options.batch = batch }
        print("forwarder batch: \(options.batch) readings; PostgreSQL 15, fsync and synchronous_commit on")
        var ratios: [Double] = []
        var forwardRates: [Double] = []
        var copyRates: [Double] = []
        for round in 1...rounds {
            let forwardFirst = round % 2 == 1
            var forward = (seconds: 0.0, cpu: 0.0, server: 0.0)
            var copy = (seconds: 0.0, server: 0.0)
            for part in forwardFirst ? ["forward", "copy"] : ["copy", "forward"] {
                if part == "forward" {
                    forward = try await forwardOnce(server: server, store: local, database: "forward_\(round)", newest: newest, seals: seals, options: options)
                    if !FileManager.default.fileExists(atPath: exported) {
                        try export(server: server, database: "forward_\(round)", to: exported)
                    }
                } else {
                    if !FileManager.default.fileExists(atPath: exported) {
                        // The first round's COPY needs the rows: forward once untimed to export them.
                        _ = try await forwardOnce(server: server, store: local, database: "export", newest: newest, seals: seals, options: options)
                        try export(server: server, database: "export", to: exported)
                    }
                    copy = try copyOnce(server: server, database: "copy_\(round)", from: exported)
                }
            }
            let forwardRate: Double = Double(newest) / forward.seconds
            let copyRate: Double = Double(newest) / copy.seconds
            forwardRates.append(forwardRate)
            copyRates.append(copyRate)
            ratios.append(forwardRate / copyRate)
            print("round \(round) (\(forwardFirst ? "forwarder first" : "COPY first")): forwarder \(fixed(forward.seconds, 2)) s = \(Int(forwardRate)) readings/s (its CPU \(fixed(forward.cpu, 1)) s, postgres \(fixed(forward.server, 1)) s); COPY \(fixed(copy.seconds, 2)) s = \(Int(copyRate)) readings/s (postgres \(fixed(copy.server, 1)) s); ratio \(fixed(forwardRate / copyRate, 2))")
        }
        let ratio = median(ratios) ?? 0
        let rate = median(forwardRates) ?? 0
        print("median: forwarder \(Int(rate)) readings/s, COPY \(Int(median(copyRates) ?? 0)) readings/s, ratio \(fixed(ratio, 2))")
        print("targets: ratio >= 0.5: \(ratio >= 0.5 ? "met" : "MISSED"); >= 100,000 readings/s: \(rate >= 100_000 ? "met" : "MISSED")")
        print("machine after: \(machineSummary())")
    }

    /// The forwarder from an empty site database until it confirmed every reading and seal.
    private func forwardOnce(
        server: ThrowawayPostgres, store: ReadingStore, database: String, newest: Int64, seals: Int64, options: Forwarder.Options
    ) async throws -> (seconds: Double, cpu: Double, server: Double) {
        guard try server.psql("CREATE DATABASE \(database)", database: "postgres").status == 0 else { fail("CREATE DATABASE \(database) failed") }
        let settings = SiteStoreSettings(
            url: server.url.replacingOccurrences(of: "/labgate", with: "/\(database)"), host: "127.0.0.1", port: server.port,
            user: server.user, database: database, tls: .disable)
        let state = ForwardState(gateway: "gw-bench", url: settings.url)
        var logger = Logger(label: "forward")
        logger.logLevel = .warning
        let forwarder = Forwarder(settings: settings, gateway: "gw-bench", store: store, state: state, options: options, logger: logger)
        let serverBefore = server.cpuSeconds
        let cpuBefore = ownCPUSeconds()
        let started = monotonicSeconds()
        let task = Task { await forwarder.forwardUntilCancelled() }
        while state.snapshot.confirmedReadings < newest {
            if let error = state.snapshot.lastError { fail("forwarder: \(error)") }
            try await Task.sleep(for: .milliseconds(5))
        }
        // The seals travel with the readings; the last may come with the batch after.
        while (Int64(try server.psql("SELECT position FROM forward_position WHERE stream = 'reading_seal'", database: database).output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) < seals {
            try await Task.sleep(for: .milliseconds(20))
        }
        let seconds = monotonicSeconds() - started
        let cpu = ownCPUSeconds() - cpuBefore
        let serverCPU = server.cpuSeconds - serverBefore
        task.cancel()
        await task.value
        let count = try server.psql("SELECT count(*) FROM reading", database: database).output.trimmingCharacters(in: .whitespacesAndNewlines)
        guard count == String(newest) else { fail("the site holds \(count) readings, not \(newest)") }
        return (seconds, cpu, serverCPU)
    }

    /// The site's readings as COPY text, as psql would send them back.
    private func export(server: ThrowawayPostgres, database: String, to file: String) throws {
        let result = try server.psql("\\copy (SELECT * FROM reading ORDER BY seq) TO '\(file)'", database: database)
        guard result.status == 0 else { fail("export failed: \(result.output)") }
    }

    /// psql's COPY of the exported readings into an empty site schema (partitions made beforehand:
    /// COPY into a partitioned table makes none).
    private func copyOnce(server: ThrowawayPostgres, database: String, from file: String) throws -> (seconds: Double, server: Double) {
        guard try server.psql("CREATE DATABASE \(database)", database: "postgres").status == 0 else { fail("CREATE DATABASE \(database) failed") }
        for migration in SiteMigrations.all {
            for statement in migration.statements {
                let result = try server.psql(statement, database: database)
                guard result.status == 0 else { fail("migration \(migration.version) failed: \(result.output)") }
            }
        }
        let months = try server.psql("""
            SELECT labgate_reading_months(timestamptz '\(try firstAndLast(file).first)', timestamptz '\(try firstAndLast(file).last)')
            """, database: database)
        guard months.status == 0 else { fail("partitions: \(months.output)") }
        let serverBefore = server.cpuSeconds
        let started = monotonicSeconds()
        let result = try server.psql("\\copy reading FROM '\(file)'", database: database)
        let seconds = monotonicSeconds() - started
        guard result.status == 0 else { fail("COPY failed: \(result.output)") }
        return (seconds, server.cpuSeconds - serverBefore)
    }

    /// The first and last reading time in the exported file (its fourth column; rows by seq, and
    /// the backlog's times grow with seq).
    private func firstAndLast(_ file: String) throws -> (first: String, last: String) {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: file))
        defer { try? handle.close() }
        let head = String(decoding: try handle.read(upToCount: 4096) ?? Data(), as: UTF8.self)
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: size > 4096 ? size - 4096 : 0)
        let tail = String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
        func time(_ line: Substring?) -> String { line.map { String($0.split(separator: "\t")[3]) } ?? "" }
        return (time(head.split(separator: "\n").first), time(tail.split(separator: "\n").last))
    }
}

/// This process's CPU seconds (user + system).
func ownCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}
