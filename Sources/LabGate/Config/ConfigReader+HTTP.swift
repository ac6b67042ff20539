import Glibc
import Yams

/// `http:` the optional HTTP listener (metrics, status JSON, wall-screen page). Absent: none.
public struct HTTPSettings: Sendable, Hashable {
    /// An IP address literal; loopback unless the admin writes another on purpose.
    public var address: String
    public var port: Int
    /// How often the status page asks for fresh data.
    public var refresh: Duration

    public static let defaultAddress = "127.0.0.1"
    public static let defaultRefresh = Duration.seconds(5)

    public init(address: String = HTTPSettings.defaultAddress, port: Int, refresh: Duration = HTTPSettings.defaultRefresh) {
        self.address = address
        self.port = port
        self.refresh = refresh
    }

    /// `127.0.0.1:9417`, `[::1]:9417`.
    public var endpoint: String { address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)" }

    /// Whether only this host can reach the listener (127.0.0.0/8 or ::1).
    public var isLoopback: Bool { Self.isLoopback(address) }

    static func isLoopback(_ address: String) -> Bool {
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 { return UInt32(bigEndian: v4.s_addr) >> 24 == 127 }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, address, &v6) == 1 else { return false }
        return withUnsafeBytes(of: &v6) { bytes in bytes.prefix(15).allSatisfy { $0 == 0 } && bytes[15] == 1 }
    }

    /// Whether `text` is an IPv4 or IPv6 address literal.
    static func isAddress(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }
}

extension ConfigReader {
    static let httpKeys = ["port", "address", "refresh"]

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
        guard let port else { return nil }
        return HTTPSettings(address: address, port: port, refresh: refresh ?? HTTPSettings.defaultRefresh)
    }
}
