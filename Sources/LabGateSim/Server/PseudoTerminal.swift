import CSerial
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A serial port could not be simulated.
public struct SerialServerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The path the config names.
    public var path: String
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "cannot serve \(path): \(reason)" }
}

/// A pseudo-terminal pair in raw mode: the simulator keeps the master, a client opens the slave
/// (through a symlink at the path the config names) as it would a USB adapter.
struct PseudoTerminal {
    let master: Int32
    /// `/dev/pts/N`.
    let slavePath: String

    /// `baud` is the line's: the pty is left at another speed. (glibc's tcsetattr reports EINVAL
    /// when parity is asked for on a pty already at the requested speed, because the kernel drops
    /// PARENB on ptys; a speed change skips that check. libmodbus restores the settings it found
    /// when it closes, so every open by a client changes the speed and succeeds.)
    static func open(for path: String, baud: Int) throws(SerialServerError) -> PseudoTerminal {
        func failure(_ call: String) -> SerialServerError {
            SerialServerError(path: path, reason: "\(call): \(String(cString: strerror(errno)))")
        }
        var name = [CChar](repeating: 0, count: 128)
        let master = lg_pty_open(&name, name.count)
        guard master >= 0 else { throw failure("posix_openpt") }
        let slavePath = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // Raw mode (no echo, no line editing, no CR/LF mapping), set through the slave once: a
        // Modbus client sets the same when it opens the port, but bytes may come before that.
        let slave = Glibc.open(slavePath, O_RDWR | O_NOCTTY)
        guard slave >= 0 else {
            let error = failure("open \(slavePath)")
            Glibc.close(master)
            throw error
        }
        var tios = termios()
        tcgetattr(slave, &tios)
        cfmakeraw(&tios)
        let idle = baud == 9600 ? speed_t(B19200) : speed_t(B9600)
        cfsetispeed(&tios, idle)
        cfsetospeed(&tios, idle)
        tcsetattr(slave, TCSANOW, &tios)
        Glibc.close(slave)
        let flags = fcntl(master, F_GETFL)
        _ = fcntl(master, F_SETFL, flags | O_NONBLOCK)
        return PseudoTerminal(master: master, slavePath: slavePath)
    }

    func close() {
        Glibc.close(master)
    }
}

/// The symlink a config's serial `port` path becomes, pointing at the simulator's pty.
enum SerialLink {
    /// Makes `path` a symlink to `target`, creating parent folders. Replaces a stale link (one
    /// that dangles or points at a pty, as a previous simulator left it), never a real file or a
    /// link to a real device.
    static func create(_ path: String, to target: String) throws(SerialServerError) {
        let parent = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        } catch {
            throw SerialServerError(path: path, reason: "cannot create folder \(parent)")
        }
        var info = stat()
        if lstat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFLNK else {
                throw SerialServerError(path: path, reason: "refusing to replace it: it is not a symlink")
            }
            let destination = readLink(path) ?? ""
            var resolved = stat()
            let dangles = stat(path, &resolved) != 0
            guard dangles || destination.hasPrefix("/dev/pts/") else {
                throw SerialServerError(
                    path: path, reason: "refusing to replace it: a symlink to \(destination), not to a pseudo-terminal")
            }
        }
        // Atomically: a client never finds the path missing while it is being replaced.
        let temporary = "\(path).labgate-\(getpid())"
        unlink(temporary)
        guard symlink(target, temporary) == 0 else {
            throw SerialServerError(path: path, reason: "symlink: \(String(cString: strerror(errno)))")
        }
        guard rename(temporary, path) == 0 else {
            let reason = "rename: \(String(cString: strerror(errno)))"
            unlink(temporary)
            throw SerialServerError(path: path, reason: reason)
        }
    }

    /// Removes `path` if it still points at `target`.
    static func remove(_ path: String, pointingTo target: String) {
        if readLink(path) == target { unlink(path) }
    }

    static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count >= 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
