/// The simulator could not start.
public struct SimulatorError: Error, Sendable, CustomStringConvertible {
    public var bus: String
    public var underlying: ModbusServerError

    public init(bus: String, underlying: ModbusServerError) {
        self.bus = bus
        self.underlying = underlying
    }

    public var description: String { "bus \(bus): \(underlying)" }
}
