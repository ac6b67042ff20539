import Foundation

/// Command-line options of the form `--name value`, after the subcommand.
struct Options {
    let arguments: [String]

    func value(_ name: String, default value: String) -> String {
        guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return value }
        return arguments[index + 1]
    }

    func value(_ name: String) -> String? {
        guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
        return arguments[index + 1]
    }

    func number(_ name: String, default value: Double) -> Double {
        guard let text = self.value(name) else { return value }
        guard let number = Double(text), number > 0 else { fail("\(name): a number above 0") }
        return number
    }

    func count(_ name: String, default value: Int) -> Int {
        guard let text = self.value(name) else { return value }
        guard let count = Int(text.replacingOccurrences(of: "_", with: "")), count > 0 else {
            fail("\(name): a whole number above 0")
        }
        return count
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("labgate-bench: \(message)\n".utf8))
    exit(2)
}

func fixed(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }

/// Monotonic seconds.
func monotonicSeconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

/// The CPU model and core count, for the record.
func machineSummary() -> String {
    let model = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
        .split(separator: "\n").first { $0.hasPrefix("model name") }
        .map { String($0.split(separator: ":").last ?? "").trimmingCharacters(in: .whitespaces) } ?? "?"
    let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?
        .split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
    return "\(model), \(ProcessInfo.processInfo.activeProcessorCount) cores, load average \(load)"
}
