import Foundation
import Glibc
import Synchronization

/// The anchor file: JSON lines, appended only. Opened once and kept open (a daemon that has run
/// out of descriptors must still anchor), opened again when rotation moved it away or removed
/// it; each line goes out in one write(2) and is synced before `append` returns.
public final class AnchorFile: Sendable {
    public let path: String
    private let fd = Mutex<Int32>(-1)

    public init(path: String) {
        self.path = path
        fd.withLock { $0 = Self.open(path) }
    }

    deinit {
        fd.withLock { if $0 >= 0 { _ = close($0) } }
    }

    /// Appends one anchor; the reason when it could not be written and synced.
    @discardableResult
    public func append(_ anchor: Anchor) -> String? {
        let bytes = Array(anchor.jsonLine.utf8)
        return fd.withLock { fd -> String? in
            if fd < 0 || Self.rotatedAway(fd, path) {
                if fd >= 0 { _ = close(fd) }
                fd = Self.open(path)
            }
            guard fd >= 0 else { return "cannot open \(path): \(String(cString: strerror(errno)))" }
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard written == bytes.count else {
                return "cannot write \(path): \(written < 0 ? String(cString: strerror(errno)) : "short write")"
            }
            guard fsync(fd) == 0 else { return "cannot sync \(path): \(String(cString: strerror(errno)))" }
            return nil
        }
    }

    private static func open(_ path: String) -> Int32 {
        Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
    }

    /// Whether `path` no longer names the open file (renamed by logrotate, or removed).
    private static func rotatedAway(_ fd: Int32, _ path: String) -> Bool {
        var open = stat()
        var named = stat()
        guard fstat(fd, &open) == 0 else { return true }
        guard stat(path, &named) == 0 else { return true }
        return open.st_ino != named.st_ino || open.st_dev != named.st_dev
    }

    /// Every anchor in the file at `path` for the store `store` (nil: any), oldest first; lines
    /// that are not anchors are counted in `unreadable`.
    public static func read(path: String, store: String? = nil) throws -> (anchors: [Anchor], unreadable: Int) {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var anchors: [Anchor] = []
        var unreadable = 0
        for line in text.split(separator: "\n") where !line.allSatisfy(\.isWhitespace) {
            guard let fields = Anchor.parseObject(line), let anchor = Anchor(fields: fields) else {
                unreadable += 1
                continue
            }
            if store == nil || anchor.store == store { anchors.append(anchor) }
        }
        return (anchors, unreadable)
    }
}
