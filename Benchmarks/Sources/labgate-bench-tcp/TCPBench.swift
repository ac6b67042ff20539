import BenchSupport
import CModbus
import Foundation
import LabGate
import LabGateDaemon
import LabGateSim
import Logging
import Modbus

// Modbus TCP polling (issue #7, figure 1): transactions per second on one connection to the
// simulator's Modbus TCP server, which runs in a process of its own (`labgate-bench serve-tcp`),
// for three clients one after another, each for the same time, each reading the same 8 input
// registers (4 float32 channels) of unit 1:
//
// - direct:   a minimal C-like loop calling libmodbus (modbus_read_input_registers) through
//             CModbus on one thread; nothing decoded or stored.
// - labgate:  the daemon's own path, assembled as `Daemon` assembles it: PollingService (a
//             BusPoller with its fixed-rate schedule, DevicePoller planning, reading, decoding and
//             counting, the bus owner ModbusBus on its own thread) feeding ReadingPipeline (lot
//             tagging from the lot registry, ReadingWriter with the daemon's batch of 1000 and its
//             seals, the evaluator and the deviation engine) into a fresh SQLite store. The device
//             is polled back to back (its period is 1 µs, so every poll is due at once). The time
//             runs until the pipeline has committed every reading of the polls made, so the rate
//             counts only what reached the store.
// - pymodbus: a synchronous pymodbus ModbusTcpClient loop (bench/pymodbus_loop.py), run by the
//             Python given with --python (scripts/bench tcp makes a venv with a pinned pymodbus).
//
// Besides the rates, the CPU time each client's process spends per transaction (user + system,
// every thread, getrusage), labgate's against the direct loop's in the same round: a loop that
// waits for each reply leaves the CPUs idle, and how fast a virtual machine wakes them moves the
// rates several-fold, but not the CPU each transaction costs.
//
//   scripts/bench tcp [--seconds 10] [--rounds 3] [--channels 4] [--only direct|labgate|pymodbus]
//   labgate-bench-tcp [tcp] ... [--python PATH] [--script Benchmarks/pymodbus_loop.py]

enum TCPBench {
    static let allChannels = ["temperature", "co2", "humidity", "o2"]
    static let lot = "MSC-AT-BENCH"

    /// The bench device with the first `channels` of its channels (the server serves all 4).
    static func config(port: Int, store: String, alerts: String, channels: Int = 4) -> Config {
        let profile = Profile(name: "bench", fields: allChannels.prefix(channels).enumerated().map { index, channel in
            Field(channel: channel, table: .input, address: index * 2, type: .float32, unit: channel == "temperature" ? "°C" : "%")
        })
        let limits: [String: ChannelLimits] = [
            "temperature": ChannelLimits(low: 36, high: 38, delay: .seconds(600), criticalHigh: 39, source: "spec msc-culture"),
            "co2": ChannelLimits(low: 4.5, high: 5.5, delay: .seconds(900), source: "spec msc-culture"),
        ]
        let measured = Set(allChannels.prefix(channels))
        let spec = Spec(name: "msc-culture", limits: limits.filter { measured.contains($0.key) })
        return Config(
            file: "bench", site: "bench", store: store, alerts: alerts,
            buses: [Bus(id: "lan", transport: .tcp(host: "127.0.0.1", port: port))],
            devices: [Device(
                id: "INC-01", kind: .incubator, bus: "lan", unit: 1, profile: "bench", every: .microseconds(1))],
            profiles: ["bench": profile], specs: ["msc-culture": spec])
    }
}

struct LoopResult: Sendable {
    var transactions: Int
    var failed: Int
    var seconds: Double
    /// CPU seconds the client spent (all of its threads), and the server meanwhile.
    var clientCPU: Double
    var serverCPU: Double
    var note = ""

    var rate: Double { Double(transactions) / seconds }
    /// The client's CPU seconds per good transaction.
    var cpuPerTransaction: Double { clientCPU / Double(max(transactions, 1)) }
}

/// Serves the bench device until standard input closes (the parent benchmark ended).
func serveTCP(port: Int) {
    let config = TCPBench.config(port: port, store: "unused", alerts: "unused")
    let simulator = Simulator(config: config, speed: 1, seed: 1, announce: { _ in })
    do {
        try simulator.start()
    } catch {
        fail("\(error)")
    }
    FileHandle.standardOutput.write(Data("port \(simulator.port(bus: "lan") ?? 0)\n".utf8))
    _ = FileHandle.standardInput.readDataToEndOfFile()
    simulator.stop()
}

/// CPU seconds (user + system) a process has used so far, from /proc (clock ticks of 10 ms).
func processCPU(_ pid: Int32) -> Double {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")")
    else { return 0 }
    // Fields after "(comm)": state is field 3; utime and stime are fields 14 and 15.
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

func selfCPU() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

/// Runs `body` on a thread of its own (blocking calls stay off Swift's cooperative pool).
func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: body()) }
    }
}

/// Lowest-priority busy loops, one per CPU, so that no CPU idles (see `--busy-cpus`). Each ends
/// by itself once this process is gone, even if it ends without stopping them.
func startSpinners(_ count: Int) -> [Process] {
    (0..<count).map { _ in
        let spinner = Process()
        spinner.executableURL = URL(fileURLWithPath: "/usr/bin/nice")
        spinner.arguments = ["-n", "19", "/bin/sh", "-c", "while kill -0 $PPID 2>/dev/null; do :; done"]
        do {
            try spinner.run()
        } catch {
            fail("cannot start a spinner: \(error)")
        }
        return spinner
    }
}

func stopSpinners(_ spinners: [Process]) {
    // SIGKILL: a shell started from here may inherit SIGTERM ignored.
    for spinner in spinners {
        kill(spinner.processIdentifier, SIGKILL)
        spinner.waitUntilExit()
    }
}

/// The minimal loop: libmodbus called directly, one request after another, nothing else.
func directLoop(port: Int, registers count: Int, seconds: Double) -> (transactions: Int, failed: Int, seconds: Double) {
    guard let context = modbus_new_tcp("127.0.0.1", Int32(port)) else { fail("modbus_new_tcp failed") }
    defer { modbus_free(context) }
    guard modbus_connect(context) == 0 else { fail("modbus_connect: \(String(cString: modbus_strerror(lg_errno())))") }
    defer { modbus_close(context) }
    modbus_set_slave(context, 1)
    var registers = [UInt16](repeating: 0, count: count)
    var done = 0
    var failed = 0
    let start = monotonicSeconds()
    let end = start + seconds
    var now = start
    while now < end {
        let got = registers.withUnsafeMutableBufferPointer {
            modbus_read_input_registers(context, 0, Int32(count), $0.baseAddress)
        }
        if got == Int32(count) { done += 1 } else { failed += 1 }
        now = monotonicSeconds()
    }
    return (done, failed, now - start)
}

/// The daemon's polling and pipeline (see the top of this file) for `seconds`, then drained.
func labgateLoop(
    port: Int, channels: Int, seconds: Double, folder: String, round: Int
) async throws -> (LoopResult, stored: Int) {
    let config = TCPBench.config(port: port, store: folder + "/labgate-\(round).sqlite", alerts: folder, channels: channels)
    let store = try ReadingStore(path: config.store)
    let registry = LotRegistry()
    _ = try await LotBook(store: store, registry: registry, config: config)
        .start(lot: TCPBench.lot, device: "INC-01", spec: "msc-culture", note: nil, user: "bench")
    let writer = ReadingWriter(store: store, user: "bench")  // the daemon's batch (1000) and buffer
    let alerts = try AlertLog(folder: folder)
    var logger = Logger(label: "labgate-bench")
    logger.logLevel = .critical  // the schedule is always "behind": its warnings are expected
    let counters = PollCounters()
    let pipeline = ReadingPipeline(
        writer: writer, alerts: alerts, config: config, registry: registry,
        deviations: try await DeviationLedger.load(book: DeviationBook(store: store, daemonUser: "bench")), logger: logger)
    let polling = PollingService(
        config: config, deliver: pipeline.deliver, end: pipeline.endOfInput, counters: counters, heartbeat: SchedulerHeartbeat(), logger: logger)

    let cpuBefore = selfCPU()
    let start = monotonicSeconds()
    let pipelineTask = Task { await pipeline.run() }
    let pollingTask = Task { await polling.run() }
    try await Task.sleep(for: .seconds(seconds))
    pollingTask.cancel()
    await pollingTask.value
    let pollingEnd = monotonicSeconds()
    await pipelineTask.value  // the stream ended: the pipeline drains, flushes and returns
    let end = monotonicSeconds()
    let counts = counters["INC-01"]
    let exceptions: Int = counts.exceptions.values.reduce(0, +)
    let failed: Int = counts.timeout + counts.badCRC + counts.badResponse + counts.disconnected + exceptions
    let stored = await writer.written
    let result = LoopResult(
        transactions: counts.ok, failed: failed, seconds: end - start, clientCPU: selfCPU() - cpuBefore, serverCPU: 0,
        note: "polling \(fixed(pollingEnd - start, 2)) s + draining \(fixed((end - pollingEnd) * 1000, 0)) ms")
    return (result, stored)
}

/// The pymodbus loop, in its own process; it reports its own count, time and CPU as JSON.
func pymodbusLoop(python: String, script: String, port: Int, registers: Int, seconds: Double) throws -> LoopResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [
        script, "--host", "127.0.0.1", "--port", String(port), "--seconds", String(seconds),
        "--unit", "1", "--count", String(registers),
    ]
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0,
          let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
          let transactions = object["transactions"] as? Int, let failed = object["failed"] as? Int,
          let elapsed = object["seconds"] as? Double, let cpu = object["cpu"] as? Double
    else { fail("pymodbus loop failed (status \(process.terminationStatus)): \(String(decoding: data, as: UTF8.self))") }
    let version = object["pymodbus"] as? String ?? "?"
    return LoopResult(
        transactions: transactions, failed: failed, seconds: elapsed, clientCPU: cpu, serverCPU: 0,
        note: "pymodbus \(version), Python \(object["python"] as? String ?? "?")")
}

func runTCP(
    seconds: Double, rounds: Int, channels: Int, only: String?, python: String?, script: String, serverCPU: Int?,
    busyCPUs: Bool
) async {
    let registers = channels * 2
    if let python, !FileManager.default.isExecutableFile(atPath: python) { fail("--python: \(python) is not executable") }
    if python != nil, !FileManager.default.fileExists(atPath: script) { fail("--script: \(script) not found") }

    // The server: this same program, `serve-tcp`, in a process of its own.
    let server = Process()
    let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    // Pinned by taskset (util-linux, on every Debian): the affinity of every thread it starts.
    if let serverCPU {
        server.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
        server.arguments = ["--cpu-list", String(serverCPU), me, "serve-tcp"]
    } else {
        server.executableURL = URL(fileURLWithPath: me)
        server.arguments = ["serve-tcp"]
    }
    let serverInput = Pipe()
    let serverOutput = Pipe()
    server.standardInput = serverInput
    server.standardOutput = serverOutput
    do {
        try server.run()
    } catch {
        fail("cannot start the simulator server: \(error)")
    }
    var line = Data()
    while !line.contains(UInt8(ascii: "\n")) {
        let chunk = serverOutput.fileHandleForReading.availableData
        if chunk.isEmpty { fail("the simulator server ended before saying its port") }
        line.append(chunk)
    }
    guard let text = String(data: line, encoding: .utf8), text.hasPrefix("port "),
          let port = Int(text.dropFirst(5).trimmingCharacters(in: .whitespacesAndNewlines)), port > 0
    else { fail("the simulator server said: \(String(decoding: line, as: UTF8.self))") }
    defer {
        try? serverInput.fileHandleForWriting.close()
        server.waitUntilExit()
    }

    let folder = NSTemporaryDirectory() + "labgate-bench-tcp-" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }

    print("server         simulator Modbus TCP server (labgate-bench-tcp serve-tcp, pid \(server.processIdentifier)) on 127.0.0.1:\(port)")
    // Standing in for a device elsewhere on the network: on a CPU of its own, so that where the
    // scheduler happens to put it (beside the client or not) does not decide the round.
    print("server CPU     \(serverCPU.map { "pinned to CPU \($0); the clients are not pinned" } ?? "not pinned")")
    print("request        read \(registers) input registers (\(channels) float32 channel(s)) of unit 1, one connection, back to back")
    print("each loop      \(fixed(seconds, 1)) s; \(rounds) round(s) of direct, labgate, pymodbus")
    print("machine        \(machineSummary())")
    print("")
    func row(_ name: String, _ result: LoopResult) {
        let pad = name.padding(toLength: 9, withPad: " ", startingAt: 0)
        print("  \(pad) \(fixed(result.rate, 0).leftPad(7)) tx/s  \(String(result.transactions).leftPad(7)) good \(result.failed) failed  \(fixed(result.seconds, 2)) s  client CPU \(fixed(100 * result.clientCPU / result.seconds, 0))% = \(fixed(result.cpuPerTransaction * 1e6, 2)) µs/tx  server CPU \(fixed(100 * result.serverCPU / result.seconds, 0))%  \(result.note)")
    }
    let spinners = busyCPUs ? startSpinners(cpuCount()) : []
    defer { stopSpinners(spinners) }
    print("other load     \(busyCPUs ? "\(spinners.count) spinners at nice 19 (--busy-cpus), one per CPU" : "none started")")
    var results: [String: [LoopResult]] = ["direct": [], "labgate": [], "pymodbus": []]
    let serverPID = server.processIdentifier
    for round in 1...rounds {
        print("round \(round)")
        var serverBefore = processCPU(serverPID)
        if only == nil || only == "direct" {
            let cpuBefore = selfCPU()
            let direct = await onThread { directLoop(port: port, registers: registers, seconds: seconds) }
            let result = LoopResult(
                transactions: direct.transactions, failed: direct.failed, seconds: direct.seconds,
                clientCPU: selfCPU() - cpuBefore, serverCPU: processCPU(serverPID) - serverBefore)
            row("direct", result)
            results["direct"]!.append(result)
        }

        serverBefore = processCPU(serverPID)
        if only == nil || only == "labgate" {
            do {
                var (labgate, stored) = try await labgateLoop(
                    port: port, channels: channels, seconds: seconds, folder: folder, round: round)
                labgate.serverCPU = processCPU(serverPID) - serverBefore
                labgate.note += ", \(stored) readings stored"
                row("labgate", labgate)
                results["labgate"]!.append(labgate)
            } catch {
                fail("labgate loop: \(error)")
            }
        }

        if let python, only == nil || only == "pymodbus" {
            serverBefore = processCPU(serverPID)
            var result: LoopResult
            do {
                result = try pymodbusLoop(python: python, script: script, port: port, registers: registers, seconds: seconds)
            } catch {
                fail("pymodbus loop: \(error)")
            }
            result.serverCPU = processCPU(serverPID) - serverBefore
            row("pymodbus", result)
            results["pymodbus"]!.append(result)
        }
    }
    func median(_ name: String) -> Double? { BenchSupport.median((results[name] ?? []).map(\.rate)) }
    print("")
    print("median of \(rounds) round(s)")
    let labgate = median("labgate")
    let direct = median("direct")
    if let direct { print("  direct    \(fixed(direct, 0)) tx/s") }
    if let labgate { print("  labgate   \(fixed(labgate, 0)) tx/s  (\(fixed(labgate * Double(channels), 0)) readings/s stored)") }
    if let pymodbus = median("pymodbus") { print("  pymodbus  \(fixed(pymodbus, 0)) tx/s") }
    guard let labgate else { return }
    if let direct {
        print("ratio labgate/direct    \(fixed(labgate / direct, 3))  (medians; target at least 0.90)")
        // Each round's two loops run seconds apart: their ratio is the one least moved by the
        // machine's state changing between rounds.
        let paired = zip(results["labgate"]!, results["direct"]!).map { $0.rate / $1.rate }
        if paired.count > 1, let middle = BenchSupport.median(paired) {
            print("ratio per round         \(paired.map { fixed($0, 2) }.joined(separator: " ")): median \(fixed(middle, 3))")
        }
    }
    printCPUPerTransaction(results, rounds: rounds)
    if let pymodbus = median("pymodbus") { print("ratio labgate/pymodbus  \(fixed(labgate / pymodbus, 2))") }
    // On a virtual machine a ping-pong loop that leaves the CPUs idle pays for waking them at
    // every reply, and the direct loop swings several-fold with the host's state; each client's
    // best round is its rate with the CPUs awake.
    func best(_ name: String) -> Double? { results[name]?.map(\.rate).max() }
    guard rounds > 1, let bestLabgate = best("labgate") else { return }
    print("best of \(rounds) round(s)")
    if let direct = best("direct") { print("  direct    \(fixed(direct, 0)) tx/s") }
    print("  labgate   \(fixed(bestLabgate, 0)) tx/s")
    if let pymodbus = best("pymodbus") { print("  pymodbus  \(fixed(pymodbus, 0)) tx/s") }
    if let direct = best("direct") { print("ratio labgate/direct    \(fixed(bestLabgate / direct, 3))  (best rounds)") }
    if let pymodbus = best("pymodbus") { print("ratio labgate/pymodbus  \(fixed(bestLabgate / pymodbus, 2))  (best rounds)") }
}

/// CPU time per transaction of each client (medians over the rounds), and labgate's against the
/// direct loop's: per round (the two loops seconds apart) and the median of those.
func printCPUPerTransaction(_ results: [String: [LoopResult]], rounds: Int) {
    print("CPU per transaction (client process, user + system), median of \(rounds) round(s)")
    for name in ["direct", "labgate", "pymodbus"] {
        guard let cpu = median((results[name] ?? []).map(\.cpuPerTransaction)) else { continue }
        print("  \(name.padding(toLength: 9, withPad: " ", startingAt: 0)) \(fixed(cpu * 1e6, 2).leftPad(7)) µs")
    }
    let paired = zip(results["labgate"] ?? [], results["direct"] ?? []).map { $0.cpuPerTransaction / $1.cpuPerTransaction }
    guard let middle = median(paired) else { return }
    print("CPU ratio labgate/direct  \(paired.map { fixed($0, 2) }.joined(separator: " ")): median \(fixed(middle, 3))  (per round; above 1: labgate spends more CPU per transaction)")
}
