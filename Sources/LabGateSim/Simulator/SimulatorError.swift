/// The simulator could not start.
public struct SimulatorError: Error, Sendable, Equatable, CustomStringConvertible {
    public var bus: String
    /// Why, e.g. "cannot listen on 127.0.0.1:5020: bind: Address already in use".
    public var reason: String

    public init(bus: String, reason: String) {
        self.bus = bus
        self.reason = reason
    }

    public init(bus: String, underlying: some Error & CustomStringConvertible) {
        self.init(bus: bus, reason: underlying.description)
    }

    public var description: String { "bus \(bus): \(reason)" }
}
