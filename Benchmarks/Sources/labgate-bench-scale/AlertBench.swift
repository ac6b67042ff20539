import Foundation
import Glibc
import Synchronization

/// Figure 5: from the simulator switching a channel out of its limits (no delay configured) or
/// back in, to the line in alerts.log (`excursion_began` / `excursion_recovered`), with the daemon
/// polling all 250 devices every second. `devices` devices on different gateways switch
/// independently, each waiting a random 0.3–1.7 s after its previous alert appeared, so that
/// switches fall at every phase of the poll period.
func alertBench(switches: Int, devices count: Int, keep: Bool) throws {
    let lab = try Lab()
    defer { lab.cleanUp(keep: keep) }
    let interval = 1000.0
    say("setup         \(lab.devices) devices × 4 channels every 1 s on \(lab.gateways) gateways; temperature limits 35–39 °C, no delay")
    say("switches      \(switches) on \(count) devices (41.0 °C out of limits, then back to the physics, ~37 °C), 0.3–1.7 s apart per device")
    let loadStart = Machine.loadavg
    let daemon = try DaemonProcess(config: lab.configPath, folder: lab.folder)
    _ = try daemon.waitReady()
    let tail = try AlertTail(path: lab.alertsPath)
    defer { tail.stop() }
    Thread.sleep(forTimeInterval: 3)

    let stride = max(1, lab.gateways / count)
    let chosen = (0..<count).map { i in
        Lab.deviceID(gateway: 1 + (i * stride) % lab.gateways, unit: 1 + i % lab.unitsPerGateway, unitsPerGateway: lab.unitsPerGateway)
    }
    struct Sample {
        var latency: Double
        var afterPoll: Double
        var out: Bool
    }
    let samples = Mutex<[Sample]>([])
    let missing = Mutex<[String]>([])
    let simulator = lab.simulator
    let group = DispatchGroup()
    let perDevice = (switches + count - 1) / count
    for (n, device) in chosen.enumerated() {
        group.enter()
        Thread.detachNewThread {
            defer { group.leave() }
            let parser = ISO8601DateFormatter()
            parser.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            var random = SplitMix(seed: UInt64(n + 1))
            for i in 0..<perDevice {
                Thread.sleep(forTimeInterval: 0.3 + 1.4 * random.unit())
                let out = i % 2 == 0
                let event = out ? "excursion_began" : "excursion_recovered"
                let switched = ContinuousClock.now
                simulator.force(device: device, channel: "temperature", to: out ? 41.0 : nil)
                let deadline = switched + .seconds(10)
                var line: AlertTail.Line?
                while line == nil, ContinuousClock.now < deadline {
                    line = tail.first(event: event, device: device, after: switched)
                    if line == nil { usleep(2000) }
                }
                guard let line else {
                    missing.withLock { $0.append("\(device) \(event) after switch \(i)") }
                    continue
                }
                let polled = parser.date(from: String(line.text.prefix { $0 != " " }))
                let afterPoll = polled.map { line.wall.timeIntervalSince($0) * 1000 } ?? .nan
                samples.withLock { $0.append(Sample(latency: ms(switched.duration(to: line.seen)), afterPoll: afterPoll, out: out)) }
            }
        }
    }
    group.wait()
    let loadEnd = Machine.loadavg
    _ = try daemon.terminate()
    let all = samples.withLock { $0 }
    let latencies = all.map(\.latency)
    let afterPoll = all.map(\.afterPoll).filter { !$0.isNaN }
    let target = interval + 50
    let p99 = percentile(latencies, 99)
    say("")
    say("load          /proc/loadavg \(loadStart) at start, \(loadEnd) at end")
    say("alerts        \(all.count) lines for \(count * perDevice) switches (\(all.filter(\.out).count) excursion_began, \(all.filter { !$0.out }.count) excursion_recovered); \(missing.withLock { $0.count }) missing")
    for line in missing.withLock({ $0 }).prefix(5) { say("  missing: \(line)") }
    say("latency       switch to line: p50 \(fixed(percentile(latencies, 50), 1)) ms, p99 \(fixed(p99, 1)) ms, max \(fixed(latencies.max() ?? .nan, 1)) ms, min \(fixed(latencies.min() ?? .nan, 1)) ms")
    say("              (target p99 ≤ interval + 50 ms = \(fixed(target, 0)) ms: ratio \(fixed(p99 / target, 3)))")
    say("after poll    poll start (the line's time) to line: p50 \(fixed(percentile(afterPoll, 50), 1)) ms, p99 \(fixed(percentile(afterPoll, 99), 1)) ms, max \(fixed(afterPoll.max() ?? .nan, 1)) ms (wall clock, 1 ms resolution)")
}

/// A small repeatable generator (SplitMix64) for the waits between switches.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
