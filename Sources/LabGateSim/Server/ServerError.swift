/// A server could not listen where it was asked to.
public struct ModbusServerError: Error, Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// The call that failed (e.g. `bind`) or a reason.
    public var operation: String
    /// What the system said, e.g. "Address already in use".
    public var reason: String

    public init(host: String, port: Int, operation: String, reason: String) {
        self.host = host
        self.port = port
        self.operation = operation
        self.reason = reason
    }

    public var description: String {
        "cannot listen on \(Endpoint.text(host: host, port: port)): \(operation): \(reason)"
    }
}

/// How endpoints are written in messages: `127.0.0.1:5020`, `[::1]:5020`.
enum Endpoint {
    static func text(host: String, port: Int) -> String {
        host.contains(":") && !host.hasPrefix("[") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
