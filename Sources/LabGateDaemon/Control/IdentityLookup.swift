import LabGate
import Modbus

/// Runs the peer's user and group lookups on a thread of their own. NSS may ask LDAP through
/// SSSD and wait seconds for an answer; on Swift's cooperative pool that wait would stall the
/// watchdog, the HTTP listener and the clock with it.
actor IdentityLookup {
    private let resolver: any IdentityResolver
    private let executor = ThreadExecutor(name: "identity lookups")

    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    init(resolver: any IdentityResolver) {
        self.resolver = resolver
    }

    deinit { executor.shutdown() }

    func identify(uid: UInt32, gid: UInt32) -> Peer {
        resolver.identify(uid: uid, gid: gid)
    }
}
