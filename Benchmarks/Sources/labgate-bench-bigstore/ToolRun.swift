import Foundation
import Glibc

/// One run of the `labgate` tool as a child process: its wall time, CPU time and peak RSS
/// (ru_maxrss of the child alone, from wait4).
struct ToolRun {
    var seconds: Double
    var cpu: Double
    /// kB.
    var maxRSS: Int
    var status: Int32

    var rssMB: Double { Double(maxRSS) * 1024 / 1e6 }

    /// $LABGATE: the `labgate` binary (scripts/bench builds the release one and sets it).
    static func binary() throws -> String {
        let path = ProcessInfo.processInfo.environment["LABGATE"] ?? ".build/release/labgate"
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw BenchError("no labgate binary at \(path): LABGATE names it (scripts/bench builds it and sets it)")
        }
        return path
    }

    /// Runs `labgate arguments…`, its standard output to `output` and standard error to
    /// `output`.err; fails unless it exits 0.
    static func run(_ arguments: [String], output: String) throws -> ToolRun {
        let binary = try binary()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, output + ".err", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv: [UnsafeMutablePointer<CChar>?] = ([binary] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let started = monotonic()
        let rc = posix_spawn(&pid, binary, &actions, nil, argv, environ)
        guard rc == 0 else { throw BenchError("posix_spawn \(binary): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        var usage = rusage()
        guard wait4(pid, &status, 0, &usage) == pid else { throw BenchError("wait4: \(String(cString: strerror(errno)))") }
        let seconds = monotonic() - started
        let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        guard exit == 0 else {
            let err = (try? String(contentsOfFile: output + ".err", encoding: .utf8)) ?? ""
            throw BenchError("labgate \(arguments.joined(separator: " ")) exited \(exit): \(err.prefix(500))")
        }
        return ToolRun(seconds: seconds, cpu: cpu, maxRSS: Int(usage.ru_maxrss), status: exit)
    }

    var line: String {
        String(format: "%.3f s wall, %.3f s CPU, peak RSS %d kB = %.1f MB", seconds, cpu, maxRSS, rssMB)
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func middle(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}
