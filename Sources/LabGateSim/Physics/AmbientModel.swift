/// A device of kind `other`: its `temperature` is the room's; other channels have no model.
public struct AmbientModel: PhysicsModel {
    public var temperature = Ambient.temperature

    public init() {}

    public func value(of channel: String) -> Double? {
        channel == "temperature" ? temperature : nil
    }

    public mutating func step(seconds: Double, conditions: Conditions) {}
}
