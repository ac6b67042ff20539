import Foundation
import Glibc

/// A process a test starts. Its standard output and error go to files in `folder` (NAME.out,
/// NAME.err) rather than pipes: a chatty process never blocks on a full pipe, and what it said so
/// far can be read at any time, also after it was killed.
public final class ChildProcess: @unchecked Sendable {
    public let process = Process()
    public let outPath: String
    public let errPath: String

    /// `executable` is a path, or a name looked up on PATH. `environment` is merged into this
    /// process's own; a nil value removes a variable. With `mergingErrors`, standard error goes
    /// to the output file too, interleaved as written.
    public init(
        _ executable: String, _ arguments: [String], folder: String, name: String,
        environment: [String: String?] = [:], workingDirectory: String? = nil, mergingErrors: Bool = false
    ) throws {
        outPath = folder + "/\(name).out"
        errPath = mergingErrors ? outPath : folder + "/\(name).err"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        if executable.contains("/") {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [executable] + arguments
        }
        if let workingDirectory { process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory) }
        var inherited = ProcessInfo.processInfo.environment
        for (key, value) in environment { inherited[key] = value }
        process.environment = inherited
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardOutput = out
        process.standardError = mergingErrors ? out : try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        try process.run()
    }

    public var stdout: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
    public var stderr: String { mergingErrors ? "" : (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }
    public var isRunning: Bool { process.isRunning }
    public var pid: pid_t { process.processIdentifier }
    private var mergingErrors: Bool { outPath == errPath }

    public func kill(_ signal: Int32) {
        if process.isRunning { Glibc.kill(process.processIdentifier, signal) }
    }

    /// Waits for the process to exit and returns its status (or throws after `timeout`, leaving
    /// it running).
    public func wait(timeout: Duration) async throws -> Int32 {
        let name = process.executableURL?.path == "/usr/bin/env"
            ? process.arguments?.first ?? "env" : process.executableURL?.lastPathComponent ?? "process"
        try await eventually("\(name) to exit", timeout: timeout, interval: .milliseconds(50)) {
            !self.process.isRunning
        }
        return process.terminationStatus
    }
}

/// What a command run to its end said: exit status, standard output and standard error.
public struct CommandResult: Sendable {
    public var status: Int32
    public var out: String
    public var err: String
}

/// Runs a command to its end (see `ChildProcess` for `executable`, `environment` and
/// `mergingErrors`).
public func runCommand(
    _ executable: String, _ arguments: [String], environment: [String: String?] = [:], mergingErrors: Bool = false
) throws -> CommandResult {
    let folder = try TemporaryFolder("labgate-command")
    let child = try ChildProcess(
        executable, arguments, folder: folder.path, name: "command", environment: environment, mergingErrors: mergingErrors)
    child.process.waitUntilExit()
    return CommandResult(status: child.process.terminationStatus, out: child.stdout, err: child.stderr)
}
