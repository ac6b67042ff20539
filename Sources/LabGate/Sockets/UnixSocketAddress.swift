import Glibc

/// A Unix domain socket's address (`sockaddr_un`), built in one place with its checks: the path
/// must fit (107 bytes and the terminating zero), and a leading `@` names Linux's abstract
/// namespace, as systemd writes NOTIFY_SOCKET.
public struct UnixSocketAddress: Sendable {
    private let storage: sockaddr_un
    /// The bytes of `storage` that count: the family, the path and, unless abstract, its zero.
    public let length: socklen_t

    /// nil when `path` is empty or too long for a Unix socket.
    public init?(path: String) {
        var storage = sockaddr_un()
        storage.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        if abstract { bytes[0] = 0 }
        guard !bytes.isEmpty, bytes.count < MemoryLayout.size(ofValue: storage.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &storage.sun_path) { $0.copyBytes(from: bytes) }
        self.storage = storage
        length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 0 : 1))
    }

    public func withSockAddr<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> Result) rethrows -> Result {
        try withUnsafePointer(to: storage) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, length) }
        }
    }

    /// bind(2); false with errno set when it fails.
    public func bind(_ fd: Int32) -> Bool {
        withSockAddr { Glibc.bind(fd, $0, $1) == 0 }
    }

    /// connect(2); false with errno set when it fails.
    public func connect(_ fd: Int32) -> Bool {
        withSockAddr { Glibc.connect(fd, $0, $1) == 0 }
    }

    /// Whether something accepts stream connections at `path` now (a plain connect(2)).
    public static func isListening(_ path: String) -> Bool {
        guard let address = UnixSocketAddress(path: path) else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return address.connect(fd)
    }
}
