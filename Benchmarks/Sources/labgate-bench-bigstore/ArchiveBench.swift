import Foundation
import Glibc

/// `labgate archive` moving one generated month (January 2026: `devices` incubators × 4 channels
/// every 10 s, one seal per second) out of a copy of the store, each round on a fresh copy: wall
/// time and peak RSS of the tool, and as the load-independent figure, its time over a bare copy
/// of the same readings into a new file by the sqlite3 shell in the same round (no hashing, no
/// checking, no deletion).
func archiveBench(devices: Int, rounds: Int, cache: String) throws {
    let layout = StoreLayout(name: "archive", devices: devices, every: 10, seconds: 32 * 86400, phased: true, start: 1_767_225_600)
    let (path, said) = try layout.store(cache: cache)
    print("store \(said)")
    guard rounds > 0 else { return }
    let folder = NSTemporaryDirectory() + "labgate-archive-bench-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: folder) }
    var ratios: [Double] = []
    for round in 1...rounds {
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let copy = folder + "/labgate.sqlite"
        for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: path + suffix) {
            try FileManager.default.copyItem(atPath: path + suffix, toPath: copy + suffix)
        }
        let bare = monotonic()
        let sql = "ATTACH '\(folder)/bare.sqlite' AS bare; CREATE TABLE bare.reading AS SELECT * FROM main.reading WHERE time < 1769904000000;"
        guard shell("/usr/bin/sqlite3", [copy, sql]) == 0 else { throw BenchError("sqlite3 bare copy failed (apt-get install sqlite3)") }
        let bareSeconds = monotonic() - bare
        let run = try ToolRun.run(["archive", "--store", copy, "--after", "1d"], output: folder + "/out")
        let out = ((try? String(contentsOfFile: folder + "/out", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let file = folder + "/archive/readings-2026-01.sqlite"
        let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
        ratios.append(run.seconds / bareSeconds)
        print(String(format: "round %d archive: %@; bare sqlite3 copy of the month's readings %.3f s: ratio %.2f; archive file %.0f MB; load %@",
                     round, run.line, bareSeconds, run.seconds / bareSeconds, Double(size) / 1e6, loadAverage()))
        print("  " + out)
    }
    print(String(format: "archive: median ratio to a bare copy %.2f", middle(ratios)))
}

private func shell(_ tool: String, _ arguments: [String]) -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tool)
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return -1 }
    process.waitUntilExit()
    return process.terminationStatus
}
