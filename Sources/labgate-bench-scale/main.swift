import Foundation
import Glibc

// Scale, alert latency, startup and stop of the real daemon (`labgate run`, the release binary
// next to this one) against simulated devices served from this process: 25 Modbus TCP gateways ×
// 10 units = 250 incubators × 4 channels, every 1 s (issue #7, figures 3, 5 and 6).
//
//   labgate-bench-scale scale   [--minutes 10 | --seconds N] [--warmup 5] [--keep]
//   labgate-bench-scale alerts  [--switches 400] [--devices 10] [--keep]
//   labgate-bench-scale startup [--repeats 10] [--run 3] [--keep]

func option(_ name: String, default value: String) -> String {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return value }
    return arguments[index + 1]
}

func number(_ name: String, default value: String) -> Double {
    guard let number = Double(option(name, default: value)), number > 0 else { fail("\(name): a number above 0") }
    return number
}

signal(SIGPIPE, SIG_IGN)
let keep = CommandLine.arguments.contains("--keep")
let mode = CommandLine.arguments.dropFirst().first ?? ""
do {
    switch mode {
    case "scale":
        let seconds = CommandLine.arguments.contains("--seconds") ? number("--seconds", default: "60") : number("--minutes", default: "10") * 60
        try scaleBench(seconds: seconds, warmup: number("--warmup", default: "5"), keep: keep)
    case "alerts":
        try alertBench(switches: Int(number("--switches", default: "400")), devices: Int(number("--devices", default: "10")), keep: keep)
    case "startup":
        try startupBench(repeats: Int(number("--repeats", default: "10")), run: number("--run", default: "3"), keep: keep)
    default:
        fail("usage: labgate-bench-scale scale [--minutes N | --seconds N] | alerts [--switches N] | startup [--repeats N]")
    }
} catch {
    fail("\(error)")
}
