import Foundation

/// The lot's report on a store holding only its device, and on one holding `others` devices
/// besides (as many readings each), run alternately; the ratio of their medians.
func ratioBench(weeks: Double, others: Int, rounds: Int, cache: String, migrating: Bool) throws {
    let seconds = Int(weeks * 7 * 86400)
    let alone = StoreLayout(name: "lot-alone", devices: 1, every: 10, seconds: seconds, phased: false)
    let mixed = StoreLayout(name: "lot-mixed", devices: 1 + others, every: 10, seconds: seconds, phased: false)
    var paths: [String] = []
    for layout in [alone, mixed] {
        let (path, said) = try layout.store(cache: cache, migrating: migrating)
        print("store \(said)")
        paths.append(path)
    }
    guard rounds > 0 else { return }
    let folder = NSTemporaryDirectory() + "labgate-bigstore-\(getpid())"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    var times: [[Double]] = [[], []]
    for round in 1...rounds {
        for (index, path) in paths.enumerated() {
            let output = folder + "/report-\(index).html"
            let run = try ToolRun.run(["report", "lot", StoreLayout.lot, "--store", path, "--output", output], output: folder + "/out")
            times[index].append(run.seconds)
            let size = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? 0
            print("round \(round) report lot, \(index == 0 ? "lot alone" : "with \(others) others"): \(run.line), \(size / 1024) KB; load \(loadAverage())")
        }
    }
    let ratio = middle(times[1]) / middle(times[0])
    print(String(
        format: "ratio (median with others / median alone): %.3f (%.3f s / %.3f s); best: %.3f; target 1.2: %.3f of it",
        ratio, middle(times[1]), middle(times[0]), times[1].min()! / times[0].min()!, ratio / 1.2))
}

/// A 30-day store sealed once per second: `audit verify` and `report lot` on it.
func monthBench(days: Double, devices: Int, rounds: Int, cache: String, migrating: Bool) throws {
    let layout = StoreLayout(name: "month", devices: devices, every: 10, seconds: Int(days * 86400), phased: true)
    let (path, said) = try layout.store(cache: cache, migrating: migrating)
    print("store \(said)")
    guard rounds > 0 else { return }
    let folder = NSTemporaryDirectory() + "labgate-bigstore-\(getpid())"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let commands: [(name: String, arguments: [String])] = [
        ("audit verify", ["audit", "verify", "--store", path]),
        ("report lot", ["report", "lot", StoreLayout.lot, "--store", path, "--output", folder + "/report.html"]),
    ]
    for command in commands {
        var runs: [ToolRun] = []
        for round in 1...rounds {
            let run = try ToolRun.run(command.arguments, output: folder + "/out")
            runs.append(run)
            print("round \(round) \(command.name): \(run.line); load \(loadAverage())")
        }
        if command.name == "audit verify", let text = try? String(contentsOfFile: folder + "/out", encoding: .utf8) {
            print("  " + text.split(separator: "\n").prefix(3).joined(separator: "\n  "))
        }
        let peak = runs.map(\.maxRSS).max()!
        print(String(
            format: "%@: median %.3f s wall (best %.3f), CPU median %.3f s; peak RSS max %d kB = %.1f MB: %.3f of the 150 MB target",
            command.name, middle(runs.map(\.seconds)), runs.map(\.seconds).min()!, middle(runs.map(\.cpu)), peak,
            Double(peak) * 1024 / 1e6, Double(peak) * 1024 / 1e6 / 150))
    }
}
