import Benchmark
import BenchSupport
import Foundation
import LabGate
import LabGateSim
import Modbus

// RTU bus efficiency: a tight poll loop through the bus owner (ModbusBus, libmodbus RTU) against
// the simulator's serial line on a pty, reading 2 registers of one device, compared with the
// wire-time limit of the line (PITFALLS.md). The simulator answers no faster than a real line, so
// the ratio says how much of the line's capacity the bus owner and its pacing use.
//
//   scripts/bench rtu [--seconds 10] [--baud 19200] [--parity even|odd|none] [--stop-bits 1|2] [--rounds 1]

func rtuBenchmark() {
    let seconds = option("seconds", default: 10.0)
    let baud = option("baud", default: 19200)
    let stopBits = option("stop-bits", default: 1)
    let parityName = option("parity") ?? "even"
    guard let parity = RTUSettings.Parity(rawValue: parityName) else { fail("--parity: none, even or odd") }
    guard RTUSettings.supportedBauds.contains(baud) else {
        fail("--baud: one of \(RTUSettings.supportedBauds.map(String.init).joined(separator: ", "))")
    }
    guard [1, 2].contains(stopBits) else { fail("--stop-bits: 1 or 2") }
    guard seconds > 0 else { fail("--seconds: a number above 0") }
    let rate = figure("transactions per 100 s")
    let ratio = figure("ratio to the wire limit ‰")
    Benchmark("rtu", configuration: perRound(option("rounds", default: 1), metrics: [rate, ratio])) { benchmark in
        let round = await rtuRound(seconds: seconds, baud: baud, parity: parity, stopBits: stopBits)
        benchmark.measurement(rate, Int((round.rate * 100).rounded()))
        benchmark.measurement(ratio, Int((round.ratio * 1000).rounded()))
    }
}

/// One round: transactions per second, and that as a ratio of the line's wire-time limit.
func rtuRound(seconds: Double, baud: Int, parity: RTUSettings.Parity, stopBits: Int) async -> (rate: Double, ratio: Double) {

    let folder = NSTemporaryDirectory() + "labgate-bench-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let settings = RTUSettings(port: folder + "/ttyBENCH", baud: baud, parity: parity, dataBits: 8, stopBits: stopBits)
    let profile = Profile(name: "bench", fields: [
        Field(channel: "temperature", table: .input, address: 0, type: .float32, order: .abcd, unit: "°C"),
    ])
    let config = Config(
        file: "bench", site: "bench", store: "bench.sqlite", alerts: folder,
        buses: [Bus(id: "line", transport: .rtu(settings))],
        devices: [Device(id: "INC-01", kind: .incubator, bus: "line", unit: 1, profile: "bench", every: .seconds(1))],
        profiles: ["bench": profile], specs: [:])
    let simulator = Simulator(config: config, speed: 1, seed: 1, announce: { _ in })
    do {
        try simulator.start()
    } catch {
        fail("\(error)")
    }
    defer { simulator.stop() }

    let bus = ModbusBus(name: "bench", transport: .rtu(settings))
    let options = TransactionOptions(timeout: .seconds(1))
    // One transaction to open the port and warm up.
    _ = try? await bus.read(unit: 1, table: .input, address: 0, count: 2, options: options)

    var done = 0
    var failed = 0
    let start = Monotonic.now()
    let end = start + Int64(seconds * 1e9)
    while Monotonic.now() < end {
        do {
            _ = try await bus.read(unit: 1, table: .input, address: 0, count: 2, options: options)
            done += 1
        } catch {
            failed += 1
        }
    }
    let elapsed = Double(Monotonic.now() - start) / 1e9
    let rate = Double(done) / elapsed
    let transaction = Double(settings.transactionTime(registers: 2).inNanoseconds) / 1e6
    let limit = 1000 / transaction
    print("line           rtu \(baud) \(settings.format) (\(settings.bitsPerCharacter) bits per character), simulated on a pty")
    print("request        read 2 input registers of unit 1, back to back through ModbusBus for \(fixed(elapsed, 1)) s")
    print("transactions   \(done) good, \(failed) failed")
    print("achieved       \(fixed(rate, 1)) transactions/s")
    print("wire limit     \(fixed(limit, 1)) transactions/s  (T = (13 + 2N)·b/baud + 2·t3.5 = \(fixed(transaction, 2)) ms)")
    print("ratio          \(fixed(rate / limit, 3))")
    return (rate, rate / limit)
}
