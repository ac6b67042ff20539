import Foundation
import Glibc
import Synchronization

/// Appends events to `alerts.log` and `alerts.jsonl`: each event is one `write(2)` of one whole
/// line per file (O_APPEND), so `tail -F` never shows half a line.
///
/// Both files stay open for the daemon's life, so that a daemon out of descriptors (a user holding
/// connections, a leak) still gets its alerts out. Before each event the path is compared with
/// the open file (device and inode): when logrotate has renamed it away, the new file is opened
/// and the old one closed, so a rotated file is left at once; if the new one cannot be opened,
/// the event still goes to the open (rotated) file rather than nowhere.
public final class AlertLog: Sendable {
    public let folder: String
    public var textPath: String { folder + "/alerts.log" }
    public var jsonPath: String { folder + "/alerts.jsonl" }
    private let text: AppendFile
    private let json: AppendFile
    /// Who hears of every event written (the notifier): called after the write, even a failed
    /// one, and must return at once.
    private let observers = Mutex<[@Sendable (AlertEvent) -> Void]>([])

    public init(folder: String) throws(StartupError) {
        try StartupError.checkWritableFolder(folder, what: "alerts")
        self.folder = folder
        do {
            text = try AppendFile(path: folder + "/alerts.log")
            json = try AppendFile(path: folder + "/alerts.jsonl")
        } catch {
            throw StartupError("cannot open alert log \(error.path): \(error.reason)")
        }
    }

    /// Adds an observer of every event written from now on (a full disk does not silence it).
    public func observe(_ observer: @escaping @Sendable (AlertEvent) -> Void) {
        observers.withLock { $0.append(observer) }
    }

    /// Writes the event to both files; throws with the path when a write fails (e.g. disk full).
    public func write(_ event: AlertEvent) throws {
        defer { for observer in observers.withLock({ $0 }) { observer(event) } }
        try text.append(AlertFormatter.line(event) + "\n")
        try json.append(AlertFormatter.json(event) + "\n")
    }
}

/// One file opened for appending and kept open, reopened when its path names another file.
final class AppendFile: Sendable {
    let path: String
    private struct Open {
        var fd: Int32
        var device: UInt64
        var inode: UInt64
    }
    private let file: Mutex<Open>

    init(path: String) throws(AlertLogError) {
        self.path = path
        file = Mutex(try Self.open(path))
    }

    deinit {
        file.withLock { _ = Glibc.close($0.fd) }
    }

    func append(_ line: String) throws(AlertLogError) {
        let bytes = Array(line.utf8)
        let path = path
        try file.withLock { (file: inout Open) throws(AlertLogError) in
            Self.followRotation(path, &file)
            let written = bytes.withUnsafeBytes { Glibc.write(file.fd, $0.baseAddress, $0.count) }
            guard written == bytes.count else {
                let reason = written < 0 ? String(cString: strerror(errno)) : "short write (\(written) of \(bytes.count) bytes)"
                throw AlertLogError(path: path, reason: reason)
            }
        }
    }

    /// The descriptor open now (tests).
    var descriptor: Int32 { file.withLock { $0.fd } }

    private static func followRotation(_ path: String, _ file: inout Open) {
        var now = stat()
        if stat(path, &now) == 0, UInt64(now.st_dev) == file.device, UInt64(now.st_ino) == file.inode { return }
        // Renamed away (or replaced): open the file the path names now; keep the old one if
        // that fails, so that the event is written somewhere.
        guard let fresh = try? open(path) else { return }
        _ = Glibc.close(file.fd)
        file = fresh
    }

    private static func open(_ path: String) throws(AlertLogError) -> Open {
        let fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw AlertLogError(path: path, reason: String(cString: strerror(errno))) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let reason = String(cString: strerror(errno))
            _ = Glibc.close(fd)
            throw AlertLogError(path: path, reason: reason)
        }
        return Open(fd: fd, device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }
}

public struct AlertLogError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "cannot write alert log \(path): \(reason)" }
}
