import Foundation
import Glibc

/// Appends events to `alerts.log` and `alerts.jsonl`: each event is one `write(2)` of one whole
/// line per file (O_APPEND), so `tail -F` never shows half a line.
public final class AlertLog: Sendable {
    public let folder: String
    public var textPath: String { folder + "/alerts.log" }
    public var jsonPath: String { folder + "/alerts.jsonl" }

    public init(folder: String) throws(StartupError) {
        try StartupError.checkWritableFolder(folder, what: "alerts")
        self.folder = folder
        for path in [textPath, jsonPath] {
            let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
            guard fd >= 0 else { throw StartupError("cannot open alert log \(path): \(String(cString: strerror(errno)))") }
            Glibc.close(fd)
        }
    }

    /// Writes the event to both files; throws with the path when a write fails (e.g. disk full).
    public func write(_ event: AlertEvent) throws {
        try append(AlertFormatter.line(event) + "\n", to: textPath)
        try append(AlertFormatter.json(event) + "\n", to: jsonPath)
    }

    private func append(_ line: String, to path: String) throws {
        // Opened per event so that a rotated file (renamed by logrotate) is followed at once.
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw AlertLogError(path: path, reason: String(cString: strerror(errno))) }
        defer { Glibc.close(fd) }
        let bytes = Array(line.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            let reason = written < 0 ? String(cString: strerror(errno)) : "short write (\(written) of \(bytes.count) bytes)"
            throw AlertLogError(path: path, reason: reason)
        }
    }
}

public struct AlertLogError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "cannot write alert log \(path): \(reason)" }
}
