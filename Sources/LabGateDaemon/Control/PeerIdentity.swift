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

/// passwd and group databases through NSS (getpwuid_r, getgrouplist, getgrgid_r). These calls may
/// block (LDAP through SSSD): the control socket makes them on a thread of its own
/// (`IdentityLookup`). An entry larger than the buffer (a group with thousands of members) is
/// read again with a bigger one, as is a group list longer than the first guess.
public struct SystemIdentityResolver: IdentityResolver {
    public init() {}

    /// The largest buffer tried for one entry before giving up on it.
    static let maxBuffer = 16 * 1024 * 1024

    public func identify(uid: UInt32, gid: UInt32) -> Peer {
        guard let (name, primary) = Self.user(uid) else {
            return Peer(uid: uid, user: "uid:\(uid)", groups: Self.name(ofGroup: gid).map { [$0] } ?? [])
        }
        var count: Int32 = 64
        var gids = [gid_t](repeating: 0, count: Int(count))
        while getgrouplist(name, primary, &gids, &count) == -1 {
            // `count` now says how many there are (glibc); grow at least twofold either way.
            let needed = max(Int(count), gids.count * 2)
            guard needed <= 1 << 20 else { break }
            gids = [gid_t](repeating: 0, count: needed)
            count = Int32(needed)
        }
        var groups = Set(gids.prefix(Int(max(0, min(count, Int32(gids.count))))).compactMap(Self.name(ofGroup:)))
        if let primary = Self.name(ofGroup: gid) { groups.insert(primary) }
        return Peer(uid: uid, user: name, groups: groups.sorted())
    }

    static func user(_ uid: uid_t) -> (name: String, gid: gid_t)? {
        var entry = passwd()
        var found: UnsafeMutablePointer<passwd>?
        var name: String?
        let status = withGrowingBuffer { buffer in
            let status = getpwuid_r(uid, &entry, buffer.baseAddress!, buffer.count, &found)
            // Copied while the buffer that holds it is alive.
            if status == 0, found != nil, let text = entry.pw_name { name = String(cString: text) }
            return status
        }
        guard status == 0, let name else { return nil }
        return (name, entry.pw_gid)
    }

    static func name(ofGroup gid: gid_t) -> String? {
        var entry = group()
        var found: UnsafeMutablePointer<group>?
        var name: String?
        let status = withGrowingBuffer { buffer in
            let status = getgrgid_r(gid, &entry, buffer.baseAddress!, buffer.count, &found)
            // Copied while the buffer that holds it is alive.
            if status == 0, found != nil, let text = entry.gr_name { name = String(cString: text) }
            return status
        }
        return status == 0 ? name : nil
    }

    /// Calls `body` with a buffer of 16 KiB, then twice as large while it says ERANGE.
    static func withGrowingBuffer(_ body: (UnsafeMutableBufferPointer<CChar>) -> Int32) -> Int32 {
        var size = 16 * 1024
        while true {
            var buffer = [CChar](repeating: 0, count: size)
            let status = buffer.withUnsafeMutableBufferPointer { body($0) }
            guard status == ERANGE, size < maxBuffer else { return status }
            size *= 2
        }
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
