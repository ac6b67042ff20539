/// A 2–8 °C fridge at 5 °C: an open door warms it toward the room (tau 20 min), a failed
/// compressor more slowly (tau 1 h); the compressor pulls it back with tau 5 min.
public struct FridgeModel: PhysicsModel {
    public static let temperatureSetPoint = 5.0

    public var temperature = temperatureSetPoint

    public init() {}

    public func value(of channel: String) -> Double? {
        channel == "temperature" ? temperature : nil
    }

    public mutating func step(seconds: Double, conditions: Conditions) {
        if conditions.doorOpen {
            Self.relax(&temperature, toward: Ambient.temperature, tau: 1200, seconds: seconds)
        } else if conditions.compressorFailure {
            Self.relax(&temperature, toward: Ambient.temperature, tau: 3600, seconds: seconds)
        } else {
            Self.relax(&temperature, toward: Self.temperatureSetPoint, tau: 300, seconds: seconds)
        }
    }
}
