import Foundation

// What every benchmark prints besides its figures: failures, numbers, the machine it ran on.

/// Says why the benchmark cannot go on, and stops it.
public func fail(_ message: String) -> Never {
    let program = URL(fileURLWithPath: CommandLine.arguments.first ?? "labgate-bench").lastPathComponent
    FileHandle.standardError.write(Data("\(program): \(message)\n".utf8))
    exit(2)
}

public func fixed(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }

/// Monotonic seconds.
public func monotonicSeconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

/// The CPU model and core count, for the record.
public func machineSummary() -> String {
    let model = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
        .split(separator: "\n").first { $0.hasPrefix("model name") }
        .map { String($0.split(separator: ":").last ?? "").trimmingCharacters(in: .whitespaces) } ?? "?"
    let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?
        .split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
    return "\(model), \(ProcessInfo.processInfo.activeProcessorCount) cores, load average \(load)"
}

public func cpuCount() -> Int { ProcessInfo.processInfo.activeProcessorCount }

/// The middle value (the mean of the two middle ones for an even count); nil for none.
public func median(_ values: [Double]) -> Double? {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return nil }
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

extension String {
    public func leftPad(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
