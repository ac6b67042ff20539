/// labgated's three options, read by hand: a command-line parser library is ~0.6 MB of code
/// and data the daemon would keep resident for its whole run to read them once.
struct DaemonOptions {
    var config: String?
    var printReadings = false
    var logLevel = "info"

    /// What the parse asks of the process instead of running: help on stdout (exit 0), or a usage
    /// error on stderr (exit 64, EX_USAGE, as the CLI's own errors).
    enum Stop: Error {
        case help
        case usage(String)
    }

    static let usage = "labgated [--config <config>] [--print-readings] [--log-level <log-level>]"

    static let help = """
        OVERVIEW: The labgate daemon, in the foreground: polls the config's devices,
        stores, evaluates and alerts (systemd runs this).

        USAGE: \(usage)

        OPTIONS:
          --config <config>       Configuration file (default: $LABGATE_CONFIG, else
                                  /etc/labgate/labgate.yaml).
          --print-readings        Print every poll to stdout as it is accepted.
          --log-level <log-level> Log level: trace, debug, info, notice, warning,
                                  error, critical. (default: info)
          -h, --help              Show help information.

        """

    /// A usage error as the process prints it.
    static func usageMessage(_ message: String) -> String {
        "Error: \(message)\nUsage: \(usage)\n  See 'labgated --help' for more information.\n"
    }

    /// `arguments` without the program name; `--name value` and `--name=value` both work.
    init(parsing arguments: [String]) throws(Stop) {
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            var name = argument
            var attached: String?
            if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
                name = String(argument[..<equals])
                attached = String(argument[argument.index(after: equals)...])
            }
            func value() throws(Stop) -> String {
                if let attached { return attached }
                guard let next = rest.first, !next.hasPrefix("-") else {
                    throw .usage(Self.usageMessage("Missing value for '\(name) <\(name.dropFirst(2))>'"))
                }
                rest.removeFirst()
                return next
            }
            switch name {
            case "-h", "--help": throw .help
            case "--config": config = try value()
            case "--log-level": logLevel = try value()
            case "--print-readings" where attached == nil: printReadings = true
            default:
                throw .usage(Self.usageMessage(
                    argument.hasPrefix("-") ? "Unknown option '\(name)'" : "Unexpected argument '\(argument)'"))
            }
        }
    }
}
