import Glibc
import LabGate

/// The user behind a control request, as the kernel names it (SO_PEERCRED), with the groups the
/// system gives that user.
public struct Peer: Sendable, Hashable, Codable {
    public var uid: UInt32
    /// The login name, or `uid:N` for a uid without a passwd entry.
    public var user: String
    public var groups: [String]

    public init(uid: UInt32, user: String, groups: [String]) {
        self.uid = uid
        self.user = user
        self.groups = groups
    }
}

/// Maps a peer's uid and gid to a user name and groups; the daemon uses the system's databases,
/// tests may give their own.
public protocol IdentityResolver: Sendable {
    func identify(uid: UInt32, gid: UInt32) -> Peer
}

/// passwd and group databases through NSS (getpwuid_r, getgrouplist, getgrgid_r).
public struct SystemIdentityResolver: IdentityResolver {
    public init() {}

    public func identify(uid: UInt32, gid: UInt32) -> Peer {
        var entry = passwd()
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        var found: UnsafeMutablePointer<passwd>?
        let status = getpwuid_r(uid, &entry, &buffer, buffer.count, &found)
        guard status == 0, found != nil, let namePointer = entry.pw_name else {
            return Peer(uid: uid, user: "uid:\(uid)", groups: Self.name(ofGroup: gid).map { [$0] } ?? [])
        }
        let name = String(cString: namePointer)
        var count: Int32 = 64
        var gids = [gid_t](repeating: 0, count: Int(count))
        while getgrouplist(name, entry.pw_gid, &gids, &count) == -1 {
            gids = [gid_t](repeating: 0, count: Int(count) * 2)
            count = Int32(gids.count)
        }
        var groups = Set(gids.prefix(Int(count)).compactMap(Self.name(ofGroup:)))
        if let primary = Self.name(ofGroup: gid) { groups.insert(primary) }
        return Peer(uid: uid, user: name, groups: groups.sorted())
    }

    static func name(ofGroup gid: gid_t) -> String? {
        var entry = group()
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        var found: UnsafeMutablePointer<group>?
        guard getgrgid_r(gid, &entry, &buffer, buffer.count, &found) == 0, found != nil, let name = entry.gr_name else {
            return nil
        }
        return String(cString: name)
    }

    /// The user this process runs as (attributed with the daemon's own audit entries).
    public static var currentUser: String {
        SystemIdentityResolver().identify(uid: geteuid(), gid: getegid()).user
    }
}

/// What a peer may do, by the groups the config names for each role.
public enum Role: String, Sendable, Codable, CaseIterable {
    case operator_ = "operator"
    case qa

    var configKey: String { self == .operator_ ? "operators" : "qa" }

    public static func roles(of peer: Peer, in roles: Roles) -> [Role] {
        var result: [Role] = []
        let groups = Set(peer.groups)
        if !groups.isDisjoint(with: roles.operators) { result.append(.operator_) }
        if !groups.isDisjoint(with: roles.qa) { result.append(.qa) }
        return result
    }

    /// The groups that give this role.
    func groups(in roles: Roles) -> [String] { self == .operator_ ? roles.operators : roles.qa }
}
