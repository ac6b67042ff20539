import ArgumentParser
import Foundation
import Glibc

/// The daemon is `labgated` now; `labgate run` stays for the operator's habit and hands over to it.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the daemon in the foreground: execs labgated with these options.",
        discussion: """
            The daemon is its own binary, labgated (systemd runs it), found next to this labgate \
            or else on PATH. Options: --config FILE, --print-readings, --log-level L (labgated --help).
            """)

    @Argument(parsing: .captureForPassthrough, help: "labgated's options.")
    var options: [String] = []

    func run() throws {
        let candidates = [Self.besideThisBinary, "labgated"]
        for program in candidates {
            let argv = ([program] + options).map { strdup($0) } + [nil]
            // execvp searches PATH for a bare name; it returns only when it could not start it.
            execvp(program, argv)
            argv.forEach { free($0) }
            guard errno == ENOENT else {
                printError("labgate run: cannot start \(program): \(String(cString: strerror(errno)))")
                throw ExitCode(1)
            }
        }
        printError("labgate run: the daemon is labgated, and it is neither next to \(Self.ownPath) nor on PATH")
        throw ExitCode(1)
    }

    private static var ownPath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    private static var besideThisBinary: String {
        URL(fileURLWithPath: ownPath).deletingLastPathComponent().appendingPathComponent("labgated").path
    }
}
