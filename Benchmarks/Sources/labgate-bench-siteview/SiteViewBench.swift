import ArgumentParser
import Foundation
import Glibc
import SiteStore
import TestSupport

// The site report of a lot (issue 17): `labgate report lot LOT --site` against a real
// PostgreSQL 15, for a lot that spent 6 weeks on 3 gateways (2 weeks each: an incubator, another
// incubator, a freezer), 4 channels every 10 s: 1,451,520 readings of the lot. Each gateway also
// holds its lot device's readings outside the lot's placement (untagged), `--others` devices as
// busy as it, and readings it went on tagging with the lot for an hour after the lot moved on
// (gateway A heard of the move late): the report must leave those out.
//
//   scripts/bench siteview [--rounds 3] [--others 1] [--format html]
//
// The site store is filled directly with COPY (not through three daemons for six weeks), then
// the release `labgate` ($LABGATE; scripts/bench builds it) runs the report; figures: each
// run's wall and CPU time, and the best against the 2 s target.

@main
struct LabGateBenchSiteView: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "labgate-bench-siteview", abstract: "labgate report lot --site on a 1.45-million-reading lot across 3 gateways.")

    @Option(help: "Runs of the report (figures: each, best and median).") var rounds = 3
    @Option(help: "Other devices per gateway, each as many readings as the lot's device.") var others = 1
    @Option(help: "Report format: html, json, csv or summary-csv.") var format = "html"

    static let limit = 2.0
    static let lot = "LOT-SITE-0001"
    static let week: Int64 = 7 * 86_400_000
    static let every: Int64 = 10_000
    static let channels = ["co2", "humidity", "o2", "temperature"]
    /// 2026-10-01 00:00:00 UTC.
    static let start: Int64 = 1_790_812_800_000

    func run() async throws {
        let tool = ProcessInfo.processInfo.environment["LABGATE"] ?? ".build/release/labgate"
        guard FileManager.default.isExecutableFile(atPath: tool) else { throw BenchError("no labgate at \(tool): LABGATE names it") }
        let server = try await PostgreSQLServer()
        defer { server.kill() }
        print("PostgreSQL 15 on 127.0.0.1:\(server.port), data in \(server.dataFolder)")
        let schema = SiteMigrations.all.flatMap(\.statements).joined(separator: ";\n") + ";\n"
            + SiteMigrations.all.map { "INSERT INTO labgate_schema (version, name) VALUES (\($0.version), '\($0.name)');" }.joined(separator: "\n")
        try check(server.psql("CREATE TABLE labgate_schema (version integer PRIMARY KEY, name text NOT NULL, applied timestamptz NOT NULL DEFAULT now());\n" + schema))
        let filled = monotonic()
        let total = try fill(server)
        print(String(format: "filled: %d readings at the site (%d of the lot), COPY + VACUUM ANALYZE in %.1f s", total.all, total.lot, monotonic() - filled))

        let folder = try TemporaryFolder("labgate-bench-siteview")
        let config = folder.file("labgate.yaml")
        try Self.config(server: server, folder: folder.path).write(toFile: config, atomically: true, encoding: .utf8)
        var runs: [(wall: Double, cpu: Double)] = []
        var size = 0
        for round in 1...rounds {
            let output = folder.file("report.\(format)")
            let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
            let run = try timed(tool, ["report", "lot", Self.lot, "--site", "--config", config, "--format", format, "--output", output])
            size = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? 0
            runs.append(run)
            print(String(format: "round %d: %.3f s wall, %.3f s CPU (tool), %d bytes; load %@", round, run.wall, run.cpu, size, load))
        }
        let best = runs.map(\.wall).min()!
        let median = runs.map(\.wall).sorted()[runs.count / 2]
        print(String(format: "site report of %d readings across 3 gateways (%@, %d bytes): best %.3f s, median %.3f s; best / %.0f s limit = %.2f (target <= 1)",
            total.lot, format, size, best, median, Self.limit, best / Self.limit))
    }

    /// The site's rows, by COPY from files written here: gateways, series, lot sets, the lot's
    /// events and every reading. Returns (all readings, the lot's inside its site-level placements).
    func fill(_ server: PostgreSQLServer) throws -> (all: Int, lot: Int) {
        let folder = try TemporaryFolder("labgate-bench-siteview-copy")
        let end = Self.start + 6 * Self.week
        try check(server.psql("SELECT labgate_reading_months(to_timestamp(\(Self.start / 1000)), to_timestamp(\(end / 1000)))"))
        let gateways = [("gw-incubators-1", "INC-A1"), ("gw-incubators-2", "INC-B1"), ("gw-cryo", "FRZ-C1")]
        var sql = ""
        var all = 0
        var lot = 0
        for (g, (gateway, device)) in gateways.enumerated() {
            let from = Self.start + Int64(g) * 2 * Self.week
            let to = from + 2 * Self.week
            // Gateway A hears of the move an hour late and tags the lot until then.
            let tagUntil = g == 0 ? to + 3_600_000 : to
            sql += "INSERT INTO gateway (id) VALUES ('\(gateway)');\n"
            sql += "INSERT INTO lot_set VALUES ('\(gateway)', 1, '\(Self.lot)'), ('\(gateway)', 2, 'OTHER-\(g)');\n"
            let action = g == 0 ? "start" : "move"
            sql += "INSERT INTO lot_event (gateway, id, lot, action, device, spec, time, \"user\") VALUES ('\(gateway)', 1, '\(Self.lot)', '\(action)', '\(device)', 'culture', to_timestamp(\(from) / 1000.0), 'operator');\n"
            if g == 0 {
                sql += "INSERT INTO lot_event (gateway, id, lot, action, time, \"user\") VALUES ('\(gateway)', 2, '\(Self.lot)', 'end', to_timestamp(\(tagUntil) / 1000.0), 'labgate');\n"
            }
            if g == 2 {
                sql += "INSERT INTO lot_event (gateway, id, lot, action, time, \"user\") VALUES ('\(gateway)', 2, '\(Self.lot)', 'end', to_timestamp(\(to) / 1000.0), 'operator');\n"
            }
            let devices = [device] + (0..<others).map { "\(device)-OTHER-\($0)" }
            var seriesID: Int64 = 0
            let path = folder.file("\(gateway).copy")
            guard FileManager.default.createFile(atPath: path, contents: nil), let file = FileHandle(forWritingAtPath: path) else {
                throw BenchError("cannot write \(path)")
            }
            var seq: Int64 = 0
            var text = ""
            text.reserveCapacity(1 << 22)
            for (d, name) in devices.enumerated() {
                var ids: [Int64] = []
                for channel in Self.channels {
                    seriesID += 1
                    ids.append(seriesID)
                    sql += "INSERT INTO series VALUES ('\(gateway)', \(seriesID), '\(name)', '\(channel)');\n"
                }
                // The gateway records its devices all six weeks; the lot's tag only while it holds the lot.
                var time = Self.start
                var day = ""
                var dayStart: Int64 = -1
                while time < end {
                    if time - dayStart >= 86_400_000 || dayStart < 0 {
                        dayStart = time - time % 86_400_000
                        day = Self.dayText(dayStart)
                    }
                    let ofDay = (time - dayStart) / 1000
                    let clock = day + " " + Self.two(ofDay / 3600) + ":" + Self.two(ofDay / 60 % 60) + ":" + Self.two(ofDay % 60) + "+00"
                    let set = d == 0 ? (time >= from && time < tagUntil ? "1" : "\\N") : "2"
                    if d == 0 && time >= from && time < to { lot += 4 }
                    for (c, id) in ids.enumerated() {
                        seq += 1
                        let value = [5.0, 93.0, 20.0, 37.0][c] + Double((time / Self.every) % 7) * 0.01
                        text += "\(gateway)\t\(seq)\t\(id)\t\(clock)\t\(value)\t0\t\(set)\n"
                    }
                    if text.utf8.count > 1 << 22 {
                        file.write(Data(text.utf8))
                        text.removeAll(keepingCapacity: true)
                    }
                    time += Self.every
                }
            }
            file.write(Data(text.utf8))
            try file.close()
            all += Int(seq)
            try check(server.psql("\\copy reading (gateway, seq, series, time, value, quality, lot_set) FROM '\(path)'"))
            try? FileManager.default.removeItem(atPath: path)
        }
        try check(server.psql(sql))
        // Weeks-old rows, as autovacuum leaves them: all-visible, so the report's index-only scans
        // need no heap fetches.
        try check(server.psql("VACUUM ANALYZE"))
        return (all, lot)
    }

    static func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }

    static func dayText(_ ms: Int64) -> String {
        var seconds = time_t(ms / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02d", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday)
    }

    static func config(server: PostgreSQLServer, folder: String) -> String {
        """
        site: bench-site
        store: \(folder)/labgate.sqlite
        alerts: \(folder)
        gateway: bench-reader
        site_store: { url: "\(server.url)", tls: disable, password_file: \(server.passwordFile) }
        buses:
          - id: lan
            tcp: { host: 127.0.0.1, port: 1502 }
        devices:
          - { id: INC-A1, kind: incubator, bus: lan, unit: 1, profile: inc, every: 10s }
          - { id: INC-B1, kind: incubator, bus: lan, unit: 2, profile: inc, every: 10s }
          - { id: FRZ-C1, kind: incubator, bus: lan, unit: 3, profile: inc, every: 10s }
        profiles:
          inc:
            temperature: { table: input, address: 0, type: float32, order: CDAB, unit: "°C" }
            co2: { table: input, address: 2, type: int16, scale: 0.01, unit: "%" }
            humidity: { table: input, address: 3, type: int16, scale: 0.1, unit: "%RH" }
            o2: { table: input, address: 4, type: int16, scale: 0.1, unit: "%" }
        specs:
          culture: { temperature: { low: 36.5, high: 37.5, delay: 10m }, co2: { low: 4.5, high: 5.5, delay: 15m } }

        """
    }

    func check(_ result: CommandResult) throws {
        guard result.status == 0 else { throw BenchError("psql: \(result.err.prefix(800))") }
    }

    /// Wall time of the command, and the CPU time of the children it adds.
    func timed(_ tool: String, _ arguments: [String]) throws -> (wall: Double, cpu: Double) {
        var before = rusage()
        getrusage(__rusage_who_t(RUSAGE_CHILDREN.rawValue), &before)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let started = monotonic()
        try process.run()
        process.waitUntilExit()
        let wall = monotonic() - started
        var after = rusage()
        getrusage(__rusage_who_t(RUSAGE_CHILDREN.rawValue), &after)
        guard process.terminationStatus == 0 else { throw BenchError("labgate \(arguments.joined(separator: " ")) exited \(process.terminationStatus)") }
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        let cpu = seconds(after.ru_utime) + seconds(after.ru_stime) - seconds(before.ru_utime) - seconds(before.ru_stime)
        return (wall, cpu)
    }
}

func monotonic() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
