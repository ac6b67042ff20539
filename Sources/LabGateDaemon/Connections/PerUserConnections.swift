import Glibc
import HummingbirdCore
import Logging
import NIOCore
import Synchronization

/// `struct ucred` of <sys/socket.h>: who is at the other end of a Unix socket (SO_PEERCRED).
struct PeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

/// Connections open per uid on the control socket.
final class PeerConnectionCounter: Sendable {
    let limit: Int
    private let open = Mutex<[UInt32: Int]>([:])
    /// When each uid was last told it is over its limit (the log says so once a minute at most).
    private let warned = Mutex<[UInt32: ContinuousClock.Instant]>([:])

    init(limit: Int) {
        self.limit = limit
    }

    /// Counts a new connection of `uid`; false (not counted) when it already holds `limit`.
    func admit(_ uid: UInt32) -> Bool {
        open.withLock { open in
            let count = open[uid, default: 0]
            guard count < limit else { return false }
            open[uid] = count + 1
            return true
        }
    }

    func release(_ uid: UInt32) {
        open.withLock { open in
            let count = open[uid, default: 1] - 1
            open[uid] = count > 0 ? count : nil
        }
    }

    func count(of uid: UInt32) -> Int {
        open.withLock { $0[uid, default: 0] }
    }

    /// Whether a refusal of `uid` should be logged now (once a minute per uid).
    func shouldWarn(_ uid: UInt32) -> Bool {
        let now = ContinuousClock.now
        return warned.withLock { warned in
            if let last = warned[uid], now - last < .seconds(60) { return false }
            warned[uid] = now
            return true
        }
    }
}

/// An HTTP/1.1 child channel that first asks the kernel who connected (SO_PEERCRED) and closes
/// the connection at once when that uid already holds its limit, so that one user cannot take
/// every descriptor the daemon has, nor every connection the listener accepts.
struct PerUserConnections<Inner: ServerChildChannel>: ServerChildChannel {
    typealias Value = Inner.Value

    let inner: Inner
    let counter: PeerConnectionCounter
    let logger: Logger

    struct OverLimit: Error {}

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        guard let provider = channel as? any SocketOptionProvider else {
            return channel.eventLoop.makeFailedFuture(OverLimit())
        }
        let counter = counter
        let log = self.logger
        let inner = inner
        return provider.unsafeGetSocketOption(level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
            .flatMap { (credentials: PeerCredentials) -> EventLoopFuture<Value> in
                let uid = credentials.uid
                guard counter.admit(uid) else {
                    if counter.shouldWarn(uid) {
                        log.warning("control socket: uid \(uid) already holds \(counter.limit) connections; further ones are closed at once")
                    }
                    channel.close(promise: nil)
                    return channel.eventLoop.makeFailedFuture(OverLimit())
                }
                channel.closeFuture.whenComplete { _ in counter.release(uid) }
                return inner.setup(channel: channel, logger: logger)
            }
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}
