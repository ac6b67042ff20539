import Foundation
import Glibc
import Synchronization

/// Follows alerts.log as `tail -F` would, woken by inotify at each write: every line with the
/// moment it was seen (monotonic) and the wall-clock time then.
final class AlertTail: Sendable {
    struct Line: Sendable {
        var event: String
        var device: String
        var text: String
        var seen: ContinuousClock.Instant
        var wall: Date
    }

    private let lines = Mutex<[Line]>([])
    private let stopped = Mutex(false)
    private let path: String

    init(path: String) throws {
        self.path = path
        let inotify = inotify_init1(Int32(IN_CLOEXEC))
        guard inotify >= 0 else { throw BenchError("inotify_init1: \(String(cString: strerror(errno)))") }
        guard inotify_add_watch(inotify, path, UInt32(IN_MODIFY)) >= 0 else {
            throw BenchError("inotify_add_watch \(path): \(String(cString: strerror(errno)))")
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BenchError("open \(path): \(String(cString: strerror(errno)))") }
        lseek(fd, 0, SEEK_END)
        Thread.detachNewThread { [self] in
            var events = [UInt8](repeating: 0, count: 4096)
            var partial: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while !stopped.withLock({ $0 }) {
                var entry = pollfd(fd: inotify, events: Int16(POLLIN), revents: 0)
                guard poll(&entry, 1, 200) > 0 else { continue }
                _ = read(inotify, &events, events.count)
                let seen = ContinuousClock.now
                let wall = Date()
                while true {
                    let count = read(fd, &buffer, buffer.count)
                    guard count > 0 else { break }
                    partial += buffer[..<count]
                }
                while let newline = partial.firstIndex(of: 10) {
                    let text = String(decoding: partial[..<newline], as: UTF8.self)
                    partial.removeSubrange(...newline)
                    // "TIME SEVERITY event device channel …"
                    let words = text.split(separator: " ", omittingEmptySubsequences: true)
                    guard words.count >= 4 else { continue }
                    let line = Line(event: String(words[2]), device: String(words[3]), text: text, seen: seen, wall: wall)
                    lines.withLock { $0.append(line) }
                }
            }
            close(fd)
            close(inotify)
        }
    }

    func stop() { stopped.withLock { $0 = true } }

    /// The first line of `event` for `device` seen at or after `after`, if any yet.
    func first(event: String, device: String, after: ContinuousClock.Instant) -> Line? {
        lines.withLock { all in all.first { $0.event == event && $0.device == device && $0.seen >= after } }
    }

    var all: [Line] { lines.withLock { $0 } }
}
