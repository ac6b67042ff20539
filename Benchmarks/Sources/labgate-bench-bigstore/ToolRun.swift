import Foundation
import Glibc

/// One run of the `labgate` tool as a child process: its wall time, CPU time and peak RSS
/// (ru_maxrss of the tool alone).
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

    /// Runs `labgate arguments…` under /usr/bin/time, its standard output to `output` and standard
    /// error to `output`.err; fails unless it exits 0.
    ///
    /// Peak RSS comes from /usr/bin/time (its wait4 of the tool), not from this process's wait4:
    /// posix_spawn starts the child on this process's memory (vfork), and Linux carries that
    /// memory's high-water mark into the child's ru_maxrss at exec. A harness that has just built
    /// a store would lend the tool its own peak.
    static func run(_ arguments: [String], output: String) throws -> ToolRun {
        let binary = try binary()
        let timer = "/usr/bin/time"
        guard FileManager.default.isExecutableFile(atPath: timer) else {
            throw BenchError("no \(timer): install Debian's time package (apt-get install time)")
        }
        let figures = output + ".time"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, output + ".err", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let command = [timer, "-f", "%M %U %S %x", "-o", figures, binary] + arguments
        let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let started = monotonic()
        let rc = posix_spawn(&pid, timer, &actions, nil, argv, environ)
        guard rc == 0 else { throw BenchError("posix_spawn \(timer): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        guard waitpid(pid, &status, 0) == pid else { throw BenchError("waitpid: \(String(cString: strerror(errno)))") }
        let seconds = monotonic() - started
        let said = (try? String(contentsOfFile: figures, encoding: .utf8)) ?? ""
        // The last line: a tool killed by a signal makes time write a line before it.
        let fields = said.split(separator: "\n").last?.split(separator: " ").map(String.init) ?? []
        guard fields.count == 4, let rss = Int(fields[0]), let user = Double(fields[1]), let system = Double(fields[2]),
            let exit = Int32(fields[3])
        else { throw BenchError("/usr/bin/time said: \(said)") }
        guard exit == 0 else {
            let err = (try? String(contentsOfFile: output + ".err", encoding: .utf8)) ?? ""
            throw BenchError("labgate \(arguments.joined(separator: " ")) exited \(exit): \(err.prefix(500))")
        }
        return ToolRun(seconds: seconds, cpu: user + system, maxRSS: rss, status: exit)
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
