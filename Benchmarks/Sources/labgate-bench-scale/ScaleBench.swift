import Foundation
import Glibc

/// Figure 3: the daemon polling 250 devices × 4 channels every second for `seconds`: its CPU
/// (utime + stime from /proc/PID/stat over the run, after a warm-up), peak RSS (VmHWM), the
/// schedule's jitter (each poll's start against its fixed-rate slot, as the daemon records it)
/// and missed polls (the daemon's count of slots missed, and gaps in the store's series).
func scaleBench(seconds: Double, warmup: Double, keep: Bool) throws {
    let lab = try Lab()
    defer { lab.cleanUp(keep: keep) }
    say("setup         \(lab.gateways) Modbus TCP gateways × \(lab.unitsPerGateway) units = \(lab.devices) devices × 4 channels, every 1 s")
    say("              simulator in this process (loopback, one server thread per connection); daemon: \(DaemonProcess.command.joined(separator: " "))")
    let loadStart = Machine.loadavg
    let daemon = try DaemonProcess(config: lab.configPath, folder: lab.folder)
    let ready = try daemon.waitReady()
    say("ready         \(fixed(ms(daemon.spawned.duration(to: ready)), 1)) ms after exec")
    Thread.sleep(forTimeInterval: warmup)
    try daemon.checkAlive()
    guard let cpuStart = daemon.cpuSeconds() else { throw BenchError("cannot read /proc/\(daemon.pid)/stat") }
    let simStart = Machine.ownCPUSeconds()
    let jiffiesStart = Machine.cpuJiffies()
    let start = ContinuousClock.now
    let end = start + .milliseconds(Int64(seconds * 1000))
    var nextReport = start + .seconds(60)
    while ContinuousClock.now < end {
        Thread.sleep(forTimeInterval: min(1, max(0, Double(ms(ContinuousClock.now.duration(to: end))) / 1000)))
        try daemon.checkAlive()
        guard let cpu = daemon.cpuSeconds() else { throw BenchError("cannot read /proc/\(daemon.pid)/stat") }
        if ContinuousClock.now >= nextReport {
            nextReport = nextReport + .seconds(60)
            let elapsed = ms(start.duration(to: .now)) / 1000
            say("  \(fixed(elapsed / 60, 1)) min: CPU \(fixed((cpu - cpuStart) / elapsed * 100, 2)) % of a core, RSS \(daemon.status("VmRSS") ?? 0) kB, peak \(daemon.status("VmHWM") ?? 0) kB, load \(Machine.loadavg)")
        }
    }
    let elapsed = ms(start.duration(to: .now)) / 1000
    guard let cpuEnd = daemon.cpuSeconds(), let hwm = daemon.status("VmHWM"), let rss = daemon.status("VmRSS") else {
        throw BenchError("cannot read /proc/\(daemon.pid)/stat or status")
    }
    let threads = daemon.threads ?? 0
    let simCPU = Machine.ownCPUSeconds() - simStart
    let jiffiesEnd = Machine.cpuJiffies()
    let loadEnd = Machine.loadavg
    let stop = try daemon.terminate()
    let lifetime = ms(ready.duration(to: stop.sent)) / 1000
    guard let exit = daemon.exit else { throw BenchError("no exit status") }
    let totalCPU = Machine.seconds(exit.usage.ru_utime) + Machine.seconds(exit.usage.ru_stime)
    let log = daemon.stderr

    let cpuShare = (cpuEnd - cpuStart) / elapsed
    let busy = (jiffiesEnd.busy - jiffiesStart.busy) / max(1, jiffiesEnd.total - jiffiesStart.total) * Double(Machine.cores)
    let schedule = DaemonLog.schedule(in: log)
    let written = DaemonLog.readingsWritten(in: log)

    // The store: every poll is one row per channel; the temperature series gives the poll times.
    let store = try StoreCheck(path: lab.storePath)
    let rows = try store.readingCount()
    let qualities = try store.qualities()
    let times = try store.pollTimes(channel: "temperature")
    let gaps = times.values.reduce(0) { $0 + missingPolls($1, periodMS: 1000) }
    let polls = times.values.reduce(0) { $0 + $1.count }
    // Each device's slots from its first stored poll to its last.
    let expected = times.values.reduce(0) { total, series in
        total + (series.count < 2 ? series.count : Int((Double(series.last! - series.first!) / 1000).rounded()) + 1)
    }
    var relative: [Double] = []
    for series in times.values where series.count > 1 {
        let t0 = series[0]
        let offsets = series.map { t -> Double in
            let k = (Double(t - t0) / 1000).rounded()
            return Double(t - t0) - k * 1000
        }
        let least = offsets.min() ?? 0
        relative += offsets.map { $0 - least }
    }

    say("")
    say("run           \(fixed(elapsed, 1)) s measured (after \(fixed(warmup, 0)) s warm-up); daemon ran \(fixed(lifetime, 1)) s from READY to SIGTERM")
    say("load          /proc/loadavg \(loadStart) at start, \(loadEnd) at end; all processes used \(fixed(busy, 2)) of \(Machine.cores) cores on average")
    say("daemon CPU    \(fixed(cpuEnd - cpuStart, 2)) s in \(fixed(elapsed, 1)) s = \(fixed(cpuShare * 100, 2)) % of one core (target ≤ 10 %: ratio \(fixed(cpuShare / 0.10, 3)))")
    say("              whole life (wait4 rusage, startup and stop included): \(fixed(totalCPU, 2)) s")
    say("peak RSS      VmHWM \(hwm) kB = \(fixed(Double(hwm) / 1024, 1)) MiB before SIGTERM (target ≤ 40 MB: ratio \(fixed(Double(hwm) * 1024 / 40e6, 3))); VmRSS \(rss) kB; ru_maxrss at exit \(exit.usage.ru_maxrss) kB; \(threads) threads")
    if let schedule {
        say("jitter        poll start against its slot, as the daemon records it: \(schedule.polls) polls, p50 \(fixed(schedule.p50, 1)) ms, p99 \(fixed(schedule.p99, 1)) ms, max \(fixed(schedule.max, 1)) ms (target p99 ≤ 50 ms: ratio \(fixed(schedule.p99 / 50, 3)))")
    } else {
        say("jitter        no schedule line in \(daemon.errPath)")
    }
    say("              store cross-check (wall-clock poll times against each device's own 1 s grid): p50 \(fixed(percentile(relative, 50), 0)) ms, p99 \(fixed(percentile(relative, 99), 0)) ms, max \(fixed(relative.max() ?? .nan, 0)) ms")
    say("missed polls  daemon: \(schedule.map { String($0.missedSlots) } ?? "?") slots missed; store: \(gaps) polls missing from the series (gaps), \(polls) polls stored against \(expected) slots from each device's first poll to its last")
    say("qualities     \(qualities.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
    say("written       \(written.map(String.init) ?? "?") readings written (daemon's count at stop), \(rows) rows in the store\(written == rows ? ": nothing lost" : ": MISMATCH")")
    say("stop          SIGTERM to exit \(fixed(ms(stop.sent.duration(to: stop.exited)), 1)) ms, exit status \(exit.status)")
    say("simulator     \(fixed(simCPU / elapsed * 100, 2)) % of one core (this process)")
    // When a bus fell behind (slots missed), and what else the daemon said that was not routine.
    let behind = log.split(separator: "\n").filter { $0.contains("behind its schedule") }
    if let first = behind.first, let last = behind.last {
        say("behind        \(behind.count) warnings of a bus behind its schedule, \(first.prefix(24)) to \(last.prefix(24))")
    }
    let unusual = log.split(separator: "\n").filter { $0.contains(" WARNING ") || $0.contains(" ERROR ") || $0.contains(" CRITICAL ") }
        .filter { !$0.contains("behind its schedule") }
    for line in unusual.prefix(5) { say("  \(line)") }
}

/// Lines of the daemon's own log the benchmarks read.
enum DaemonLog {
    struct Schedule {
        var polls: Int
        var p50: Double
        var p99: Double
        var max: Double
        var missedSlots: Int
    }

    /// "schedule: N polls started, lateness against their slots p50 X p99 Y max Z; M slots missed"
    static func schedule(in log: String) -> Schedule? {
        guard let line = log.split(separator: "\n").last(where: { $0.contains("schedule: ") }) else { return nil }
        let words = line.split(separator: " ").map(String.init)
        func number(after word: String) -> Int? {
            words.lastIndex(of: word).flatMap { $0 > 0 ? Int(words[$0 - 1]) : nil }
        }
        func milliseconds(after word: String) -> Double? {
            guard let index = words.firstIndex(of: word), index + 2 < words.count, let value = Double(words[index + 1]) else { return nil }
            return words[index + 2].hasPrefix("ms") ? value : value * 1000
        }
        guard let polls = number(after: "polls"), let missed = number(after: "slots"),
            let p50 = milliseconds(after: "p50"), let p99 = milliseconds(after: "p99"), let max = milliseconds(after: "max")
        else { return nil }
        return Schedule(polls: polls, p50: p50, p99: p99, max: max, missedSlots: missed)
    }

    /// "labgate stopped: N readings written"
    static func readingsWritten(in log: String) -> Int? {
        guard let line = log.split(separator: "\n").last(where: { $0.contains("labgate stopped: ") }),
            let range = line.range(of: "labgate stopped: ")
        else { return nil }
        return Int(line[range.upperBound...].split(separator: " ").first ?? "")
    }

    /// Polls the devices answered, from the per-device lines at stop ("INC-001: N ok, …"): one
    /// request per poll for these devices.
    static func transactionsOK(in log: String) -> Int {
        var total = 0
        for line in log.split(separator: "\n") {
            guard let range = line.range(of: ": "), let okRange = line.range(of: " ok, ") else { continue }
            let head = line[..<range.lowerBound].split(separator: " ").last ?? ""
            guard head.hasPrefix("INC-") else { continue }
            total += Int(line[range.upperBound..<okRange.lowerBound]) ?? 0
        }
        return total
    }
}
