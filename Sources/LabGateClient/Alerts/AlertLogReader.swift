import Foundation
import Glibc
import LabGate

/// Reads alerts.jsonl back, and follows it as it grows or is rotated (like `tail -F`).
public struct AlertLogReader: Sendable {
    public enum Entry: Sendable {
        case event(AlertEvent)
        /// A line that is not a valid event: shown as it is, never skipped.
        case unreadable(line: Int, text: String)
    }

    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// Every entry now in the file; a missing file means no alerts yet.
    public func readAll() throws -> [Entry] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        var lineNumber = 0
        return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true).map {
            lineNumber += 1
            return Self.entry(String($0), line: lineNumber)
        }
    }

    /// Calls `handle` for each entry appended from now on, until the task is cancelled. Follows
    /// the name: after a rotation it finishes the old file, then reads the new one from its start.
    public func follow(pollEvery interval: Duration = .milliseconds(250), _ handle: (Entry) -> Void) async throws {
        var file = OpenFile(path: path, atEnd: true)
        var lineNumber = try readAll().count
        while !Task.isCancelled {
            try await Task.sleep(for: interval)
            for text in file.readLines() {
                lineNumber += 1
                handle(Self.entry(text, line: lineNumber))
            }
            if file.wasReplaced {
                file.close()
                file = OpenFile(path: path, atEnd: false)
                lineNumber = 0
            }
        }
    }

    static func entry(_ text: String, line: Int) -> Entry {
        if let event = try? AlertFormatter.decode(json: text) { return .event(event) }
        return .unreadable(line: line, text: text)
    }

    /// An open file descriptor and the bytes of a line not yet complete.
    private struct OpenFile {
        let path: String
        var fd: Int32
        var inode: ino_t = 0
        var partial: [UInt8] = []

        init(path: String, atEnd: Bool) {
            self.path = path
            fd = open(path, O_RDONLY | O_CLOEXEC)
            var info = stat()
            if fd >= 0, fstat(fd, &info) == 0 {
                inode = info.st_ino
                if atEnd { lseek(fd, 0, SEEK_END) }
            }
        }

        /// True when the name now points at another file (rotated) or the file shrank (truncated).
        var wasReplaced: Bool {
            var info = stat()
            guard stat(path, &info) == 0 else { return false }
            if fd < 0 || info.st_ino != inode { return true }
            return lseek(fd, 0, SEEK_CUR) > info.st_size
        }

        func close() {
            if fd >= 0 { Glibc.close(fd) }
        }

        mutating func readLines() -> [String] {
            guard fd >= 0 else { return [] }
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                partial.append(contentsOf: buffer[0..<n])
            }
            var lines: [String] = []
            while let newline = partial.firstIndex(of: UInt8(ascii: "\n")) {
                lines.append(String(decoding: partial[..<newline], as: UTF8.self))
                partial.removeSubrange(...newline)
            }
            return lines
        }
    }
}
