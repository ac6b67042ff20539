import BenchPostgres
import Foundation
import GRDB
import Glibc

/// Issue 17, figure 2: the live forward lag at 250 devices × 4 channels every second, the
/// daemon forwarding to a throwaway PostgreSQL 15 on loopback (durable defaults). Every second
/// the bench reads the site's confirmed position (`forward_position`) and, in the gateway's store,
/// the poll time of the oldest reading past it: the lag is how old that reading is (0 when the
/// site holds every stored reading). So it counts the daemon's own write delay (readings are
/// flushed to the store once a second) as well as the forwarder's. The same lab then runs
/// without a site store, and the daemon's CPU of both runs is shown side by side.
func forwardLagBench(seconds: Double, warmup: Double, keep: Bool) throws {
    let server = try ThrowawayPostgres(port: 25433)
    defer { server.stop() }
    say("site store    PostgreSQL 15 on 127.0.0.1:\(server.port), fsync and synchronous_commit on")
    let with = try lagRun(site: server, seconds: seconds, warmup: warmup, keep: keep)
    let without = try lagRun(site: nil, seconds: seconds, warmup: warmup, keep: keep)
    let lags = with.lags
    say("")
    say("forward lag   \(lags.count) samples, one a second: p50 \(fixed(percentile(lags, 50), 2)) s, p99 \(fixed(percentile(lags, 99), 2)) s, max \(fixed(lags.max() ?? .nan, 2)) s (target p99 ≤ 2 s: ratio \(fixed(percentile(lags, 99) / 2, 3)))")
    say("              at the end the site held \(with.siteReadings) of the \(with.localReadings) readings stored")
    say("daemon CPU    with forwarding \(fixed(with.cpuShare * 100, 2)) %, without \(fixed(without.cpuShare * 100, 2)) % of one core (ratio \(fixed(with.cpuShare / without.cpuShare, 2))); postgres \(fixed(with.postgresShare * 100, 2)) %")
    say("load          \(with.load) during the forwarding run, \(without.load) during the other")
}

private struct LagRun {
    var lags: [Double] = []
    var cpuShare = 0.0
    var postgresShare = 0.0
    var siteReadings = 0
    var localReadings = 0
    var load = ""
}

private func lagRun(site: ThrowawayPostgres?, seconds: Double, warmup: Double, keep: Bool) throws -> LagRun {
    let lab = try Lab()
    defer { lab.cleanUp(keep: keep) }
    if let site {
        let lines = "gateway: bench-gw\nsite_store: { url: \"\(site.url)\", tls: disable }\n"
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: lab.configPath))
        handle.seekToEndOfFile()
        handle.write(Data(lines.utf8))
        try handle.close()
    }
    say("run           \(site == nil ? "without a site store" : "forwarding to the site store"): \(lab.devices) devices × 4 channels every 1 s, \(fixed(seconds, 0)) s after \(fixed(warmup, 0)) s warm-up")
    let daemon = try DaemonProcess(config: lab.configPath, folder: lab.folder)
    _ = try daemon.waitReady()
    Thread.sleep(forTimeInterval: warmup)
    try daemon.checkAlive()
    guard let cpuStart = daemon.cpuSeconds() else { throw BenchError("cannot read /proc/\(daemon.pid)/stat") }
    let postgresStart = site?.cpuSeconds ?? 0
    let store = try StoreCheck(path: lab.storePath)
    var run = LagRun()
    let start = ContinuousClock.now
    var next = start
    while start.duration(to: .now) < .milliseconds(Int64(seconds * 1000)) {
        next = next + .seconds(1)
        if let site {
            let position = Int64(try site.psql(
                "SELECT coalesce(max(position), 0) FROM forward_position WHERE gateway = 'bench-gw' AND stream = 'reading'"
            ).output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            let now = Date().timeIntervalSince1970
            let oldest = try store.queue.read { db in
                try Int64.fetchOne(db, sql: "SELECT time FROM reading WHERE rowid > ? ORDER BY rowid LIMIT 1", arguments: [position])
            }
            run.lags.append(oldest.map { max(0, now - Double($0) / 1000) } ?? 0)
        }
        try daemon.checkAlive()
        let wait = ContinuousClock.now.duration(to: next)
        if wait > .zero { Thread.sleep(forTimeInterval: ms(wait) / 1000) }
    }
    let elapsed = ms(start.duration(to: .now)) / 1000
    guard let cpuEnd = daemon.cpuSeconds() else { throw BenchError("cannot read /proc/\(daemon.pid)/stat") }
    run.cpuShare = (cpuEnd - cpuStart) / elapsed
    run.postgresShare = ((site?.cpuSeconds ?? 0) - postgresStart) / elapsed
    run.load = Machine.loadavg
    if let site {
        run.siteReadings = Int(try site.psql("SELECT count(*) FROM reading WHERE gateway = 'bench-gw'").output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        run.localReadings = try store.readingCount()
    }
    _ = try daemon.terminate()
    let unusual = daemon.stderr.split(separator: "\n").filter { $0.contains(" WARNING ") || $0.contains(" ERROR ") }
        .filter { !$0.contains("behind its schedule") }
    for line in unusual.prefix(5) { say("  \(line)") }
    return run
}
