import Glibc
import Yams

/// `http:` the optional HTTP listener (metrics, status JSON, wall-screen page). Absent: none.
public struct HTTPSettings: Sendable, Hashable {
    /// An IP address literal; loopback unless the admin writes another on purpose.
    public var address: String
    public var port: Int
    /// How often the status page asks for fresh data.
    public var refresh: Duration
    /// Host names (besides the address itself) that requests may name in their Host header, e.g.
    /// the name a wall screen or a reverse proxy uses; any other name is refused, so a web page
    /// that rebinds its own name to this address (DNS rebinding) cannot read the listener.
    public var names: [String]

    public static let defaultAddress = "127.0.0.1"
    public static let defaultRefresh = Duration.seconds(5)

    public init(
        address: String = HTTPSettings.defaultAddress, port: Int, refresh: Duration = HTTPSettings.defaultRefresh,
        names: [String] = []
    ) {
        self.address = address
        self.port = port
        self.refresh = refresh
        self.names = names
    }

    /// `127.0.0.1:9417`, `[::1]:9417`.
    public var endpoint: String { address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)" }

    /// Whether only this host can reach the listener (127.0.0.0/8 or ::1).
    public var isLoopback: Bool { Self.isLoopback(address) }

    /// Whether `address` is an IP literal on loopback.
    public static func isLoopbackAddress(_ address: String) -> Bool { isLoopback(address) }

    static func isLoopback(_ address: String) -> Bool {
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 { return UInt32(bigEndian: v4.s_addr) >> 24 == 127 }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, address, &v6) == 1 else { return false }
        return withUnsafeBytes(of: &v6) { bytes in bytes.prefix(15).allSatisfy { $0 == 0 } && bytes[15] == 1 }
    }

    /// A DNS name: labels of letters, digits and '-', joined by '.', at most 253 characters.
    static func isHostName(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        return text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-") }
        }
    }

    /// Whether `text` is an IPv4 or IPv6 address literal.
    public static func isAddress(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }
}

extension ConfigReader {
    static let httpKeys = ["port", "address", "refresh", "names"]

    /// `http: { port: 9417, address: 127.0.0.1, refresh: 5s }`; only `port` is required.
    mutating func readHTTP(_ node: Node) -> HTTPSettings? {
        guard let http = entries(of: node, keys: Self.httpKeys, required: ["port"], for: "http", in: "http") else {
            return nil
        }
        let port = integer("port", of: http, range: 1...65535)
        var address = HTTPSettings.defaultAddress
        if let node = http["address"], let text = string(node, "address", in: "http") {
            // A host name could resolve to something else tomorrow; what is exposed must be plain.
            if HTTPSettings.isAddress(text) {
                address = text
            } else {
                report("address must be an IP address (e.g. 127.0.0.1, ::1, 0.0.0.0), got '\(text)'", at: node, in: "http")
            }
        }
        let refresh = duration("refresh", of: http, minimum: .seconds(1), maximum: .seconds(300))
        let names = http["names"].map { readHostNames($0) } ?? []
        guard let port else { return nil }
        return HTTPSettings(address: address, port: port, refresh: refresh ?? HTTPSettings.defaultRefresh, names: names)
    }

    /// `names: [wall.lab.example, labgate-01]`: DNS names, as a Host header carries them (no port,
    /// no scheme); a single name is taken as a list of one.
    private mutating func readHostNames(_ node: Node) -> [String] {
        let nodes: [Node]
        if case .sequence = node {
            nodes = items(of: node, for: "names", in: "http") ?? []
        } else {
            nodes = [node]
        }
        var names: [String] = []
        for item in nodes {
            guard let name = string(item, "a host name", in: "http, names") else { continue }
            guard HTTPSettings.isHostName(name) else {
                report("'\(name)' is not a host name (letters, digits, '-' and '.', e.g. wall.lab.example; no port or scheme)", at: item, in: "http, names")
                continue
            }
            names.append(name.lowercased())
        }
        return names
    }
}
