import Glibc
import Hummingbird
import LabGate
import NIOCore

/// The request context of the control socket: keeps the connection's channel, so a handler can
/// ask the kernel who is at the other end.
struct ControlContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// The uid and gid of the process at the other end of the Unix socket (SO_PEERCRED).
    func peerCredentials() async throws(RequestError) -> (uid: UInt32, gid: UInt32) {
        guard let provider = channel as? any SocketOptionProvider else {
            throw RequestError(.forbidden, "cannot identify the peer of this connection")
        }
        do {
            let credentials: PeerCredentials = try await provider.unsafeGetSocketOption(
                level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED)
            ).get()
            return (credentials.uid, credentials.gid)
        } catch {
            throw RequestError(.forbidden, "cannot identify the peer of this connection: \(error)")
        }
    }
}
