import Foundation
import Glibc

/// Figure 6: from exec of `labgated` (posix_spawn) to READY=1 on the NOTIFY_SOCKET held here,
/// with the 250-device config; then, after `run` seconds of polling, from SIGTERM to the exit
/// (wait4), checking that nothing was lost: the readings the daemon says it wrote at stop equal
/// the rows it added to the store, and equal the polls its devices answered × 4 channels.
/// The first start makes a new store (schema); the others restart on the store as it is.
func startupBench(repeats: Int, run: Double, keep: Bool) throws {
    let lab = try Lab()
    defer { lab.cleanUp(keep: keep) }
    say("setup         \(lab.devices) devices × 4 channels every 1 s on \(lab.gateways) gateways; \(repeats) starts, \(fixed(run, 0)) s of polling each")
    say("load          /proc/loadavg \(Machine.loadavg) at start")
    var starts: [Double] = []
    var stops: [Double] = []
    var lost = 0
    var previousRows = 0
    say("")
    say("start  store     exec→READY   SIGTERM→exit   written  rows added  answered×4  exit")
    for attempt in 1...repeats {
        let daemon = try DaemonProcess(config: lab.configPath, folder: lab.folder, name: "daemon-\(attempt)")
        let ready = try daemon.waitReady()
        let startup = ms(daemon.spawned.duration(to: ready))
        Thread.sleep(forTimeInterval: run)
        let stop = try daemon.terminate()
        let stopping = ms(stop.sent.duration(to: stop.exited))
        let log = daemon.stderr
        let written = DaemonLog.readingsWritten(in: log) ?? -1
        let rows = try StoreCheck(path: lab.storePath).readingCount()
        let added = rows - previousRows
        previousRows = rows
        let answered = DaemonLog.transactionsOK(in: log) * Lab.profile.fields.count
        if written != added || answered != added { lost += 1 }
        let status = daemon.exit.map { String($0.status) } ?? "?"
        say(
            "\(String(attempt).padding(toLength: 6, withPad: " ", startingAt: 0)) \((attempt == 1 ? "new" : "existing").padding(toLength: 9, withPad: " ", startingAt: 0)) "
                + "\(fixed(startup, 1).leftPadded(8)) ms  \(fixed(stopping, 1).leftPadded(10)) ms  \(String(written).leftPadded(7))  \(String(added).leftPadded(10))  \(String(answered).leftPadded(10))  \(status)")
        starts.append(startup)
        stops.append(stopping)
    }
    let restarts = Array(starts.dropFirst())
    say("")
    say("load          /proc/loadavg \(Machine.loadavg) at end")
    say("exec→READY    new store \(fixed(starts[0], 1)) ms; existing store p50 \(fixed(percentile(restarts, 50), 1)) ms, max \(fixed(restarts.max() ?? .nan, 1)) ms")
    say("              (target ≤ 250 ms: ratio of the worst start \(fixed((starts.max() ?? .nan) / 250, 3)))")
    say("SIGTERM→exit  p50 \(fixed(percentile(stops, 50), 1)) ms, max \(fixed(stops.max() ?? .nan, 1)) ms (target ≤ 1 s: ratio of the worst \(fixed((stops.max() ?? .nan) / 1000, 3)))")
    say("nothing lost  \(lost == 0 ? "yes" : "NO"): in \(repeats - lost) of \(repeats) runs written = rows added = polls answered × 4")
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
