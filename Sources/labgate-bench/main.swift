import Foundation

// labgate's benchmarks (BENCHMARKS.md). Not tests: they print figures and assert nothing.
//
//   labgate-bench [rtu] [options]   RTU bus efficiency against the wire-time limit (scripts/bench-rtu)
//   labgate-bench tcp [options]     Modbus TCP polling: labgate vs direct libmodbus vs pymodbus (scripts/bench-tcp)
//   labgate-bench store [options]   store ingest through ReadingWriter vs bare GRDB inserts (scripts/bench-store)
//   labgate-bench serve-tcp         the simulator's Modbus TCP server alone (run by `tcp` as its own process)

var arguments = Array(CommandLine.arguments.dropFirst())
let command = arguments.first.flatMap { $0.hasPrefix("-") ? nil : $0 } ?? "rtu"
if arguments.first == command { arguments.removeFirst() }
let options = Options(arguments: arguments)
switch command {
case "rtu": await runRTU(options)
case "tcp": await runTCP(options)
case "store": await runStore(options)
case "serve-tcp": serveTCP(options)
default: fail("unknown benchmark \(command): rtu, tcp or store")
}
