import Foundation
import Glibc
import LabGate
import LabGateSim
import Synchronization

/// Issue 16's figure: from the reading that opens a deviation to (a) the message accepted by the
/// SMTP server, (b) the webhook's request received, (c) the relay coil set in the simulated I/O
/// module. The real daemon ($LABGATE), the simulator in this process (5 incubators and an I/O
/// module on one Modbus TCP bus, every 1 s), aiosmtpd (Debian's python3-aiosmtpd, running the
/// tests' sink, which notes when it had each whole message), a webhook receiver on its own thread
/// here, and the module's coil 0 sampled every 1 ms. One rule sends `deviation_opened` to all
/// three. Deviations one after another: a co2 forced below its spec on the next incubator; once
/// all three have it, the value is released and the deviation acknowledged (the coil drops),
/// then a random 0.3–1.3 s pause so readings fall at every phase of the poll period.
///
/// Each latency is a difference of wall-clock times taken at the two ends: the reading's time as
/// the daemon stored it (the deviation's `opened`, ms) and the receiver's time of receipt.
func notifyBench(deviations count: Int, keep: Bool) throws {
    let lab = try NotifyLab()
    defer { lab.cleanUp(keep: keep) }
    say("setup         \(NotifyLab.incubators) incubators + an I/O module on one Modbus TCP bus, every 1 s; co2 spec 4.5–5.5 %, no delay")
    say("              rule: deviation_opened -> email (aiosmtpd on loopback), webhook (loopback), relay (IO-01 coil 0)")
    say("deviations    \(count), one after another (co2 forced to 3.0 %, then released and acknowledged)")
    let loadStart = Machine.loadavg
    let daemon = try DaemonProcess(config: lab.configPath, folder: lab.folder)
    _ = try daemon.waitReady()
    daemon.keepReadingNotifications()
    let cpuStart = daemon.cpuSeconds() ?? .nan
    for index in 1...NotifyLab.incubators {
        try lab.control("POST", "/lots", body: #"{"lot":"MSC-AT-\#(String(format: "%04d", index))","device":"\#(NotifyLab.incubator(index))","spec":"tight"}"#)
    }
    let coil = CoilWatch(simulator: lab.simulator)
    defer { coil.stop() }

    struct Sample {
        var deviation: String
        var opened: Date
        var mail: Date
        var hook: Date
        var relay: Date
    }
    var samples: [Sample] = []
    var missing: [String] = []
    var random = SplitMix(seed: 16)
    for i in 0..<count {
        try daemon.checkAlive()
        let device = NotifyLab.incubator(1 + i % NotifyLab.incubators)
        let hooksBefore = lab.hooks.received.count
        let mailsBefore = lab.mails().count
        let coilsBefore = coil.onTimes.count
        lab.simulator.force(device: device, channel: "co2", to: 3.0)
        let deadline = ContinuousClock.now + .seconds(15)
        var hook: WebhookSink.Request?
        var mail: NotifyLab.Mail?
        var relay: Date?
        while ContinuousClock.now < deadline, hook == nil || mail == nil || relay == nil {
            if hook == nil { hook = lab.hooks.received.dropFirst(hooksBefore).first }
            if mail == nil { mail = lab.mails().dropFirst(mailsBefore).first }
            if relay == nil { relay = coil.onTimes.dropFirst(coilsBefore).first }
            usleep(2000)
        }
        lab.simulator.force(device: device, channel: "co2", to: nil)
        guard let hook, let mail, let relay, let deviation = NotifyLab.deviationID(in: String(decoding: hook.body, as: UTF8.self)) else {
            missing.append("\(device) #\(i): webhook \(hook != nil), email \(mail != nil), relay \(relay != nil)")
            // Acknowledge whatever is open so the next one starts from a dark beacon.
            for open in try lab.openDeviations() { try lab.control("POST", "/deviations/\(open)/ack", body: #"{"comment":"bench"}"#) }
            Thread.sleep(forTimeInterval: 2)
            continue
        }
        let opened = try lab.opened(deviation)
        if NotifyLab.deviationID(in: mail.body) != deviation { missing.append("\(deviation): the email named another deviation") }
        try lab.control("POST", "/deviations/\(deviation)/ack", body: #"{"comment":"bench"}"#)
        samples.append(Sample(deviation: deviation, opened: opened, mail: mail.received, hook: hook.received, relay: relay))
        let off = ContinuousClock.now + .seconds(10)
        while coil.isOn, ContinuousClock.now < off { usleep(5000) }
        if (i + 1) % 10 == 0 { say("  \(i + 1) deviations") }
        Thread.sleep(forTimeInterval: 0.3 + random.unit())
    }
    let cpu = (daemon.cpuSeconds() ?? .nan) - cpuStart
    let loadEnd = Machine.loadavg
    // SIGTERM, then SIGKILL if it has not stopped within 20 s (said, not hidden: a stop that
    // hangs is a finding of its own).
    kill(daemon.pid, SIGTERM)
    let stopping = ContinuousClock.now
    while daemon.ended() == nil {
        if stopping.duration(to: .now) > .seconds(20) {
            say("stop          labgated did not exit within 20 s of SIGTERM: killed (see \(daemon.errPath))")
            kill(daemon.pid, SIGKILL)
            _ = try? daemon.terminate()
            break
        }
        usleep(20_000)
    }
    func latencies(_ at: KeyPath<Sample, Date>) -> [Double] { samples.map { $0[keyPath: at].timeIntervalSince($0.opened) * 1000 } }
    say("")
    say("load          /proc/loadavg \(loadStart) at start, \(loadEnd) at end; labgated CPU \(fixed(cpu, 1)) s over the run; \(Machine.cores) CPUs")
    say("deviations    \(samples.count) measured of \(count); \(missing.count) incomplete")
    for line in missing.prefix(5) { say("  missing: \(line)") }
    for (name, at, target) in [("email", \Sample.mail, 2000.0), ("webhook", \Sample.hook, 2000.0), ("relay", \Sample.relay, 1100.0)] {
        let values = latencies(at)
        let p99 = percentile(values, 99)
        say("\(name.padding(toLength: 14, withPad: " ", startingAt: 0))reading to receipt: p50 \(fixed(percentile(values, 50), 0)) ms, p99 \(fixed(p99, 0)) ms, max \(fixed(values.max() ?? .nan, 0)) ms, min \(fixed(values.min() ?? .nan, 0)) ms (target p99 ≤ \(fixed(target, 0)) ms: \(p99 <= target ? "met" : "MISSED"))")
    }
}

/// Samples a simulated I/O module's coil 0 every millisecond on a thread of its own and keeps the
/// wall-clock time of each switch on.
final class CoilWatch: Sendable {
    private struct State {
        var on = false
        var onTimes: [Date] = []
        var stopped = false
    }

    private let state = Mutex(State())

    init(simulator: Simulator) {
        Thread.detachNewThread { self.watch(simulator) }
    }

    private func watch(_ simulator: Simulator) {
        while true {
            let on = simulator.coils(device: NotifyLab.module)?.first ?? false
            let now = Date()
            let stop = state.withLock { state -> Bool in
                if on, !state.on { state.onTimes.append(now) }
                state.on = on
                return state.stopped
            }
            if stop { return }
            usleep(1000)
        }
    }

    var onTimes: [Date] { state.withLock { $0.onTimes } }
    var isOn: Bool { state.withLock { $0.on } }
    func stop() { state.withLock { $0.stopped = true } }
}
