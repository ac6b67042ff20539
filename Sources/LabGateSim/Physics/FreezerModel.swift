/// An ultra-low temperature freezer at −80 °C.
///
/// A failed compressor lets it warm toward the room with tau ≈ 5.7 h, about 3 °C per 10 min at
/// −80 °C; an open door warms it about 1 °C per minute while open. After either ends the
/// compressor pulls it back down (tau 10 min).
public struct FreezerModel: PhysicsModel {
    public static let temperatureSetPoint = -80.0

    public var temperature = temperatureSetPoint

    public init() {}

    public func value(of channel: String) -> Double? {
        channel == "temperature" ? temperature : nil
    }

    public mutating func step(seconds: Double, conditions: Conditions) {
        if conditions.doorOpen {
            Self.relax(&temperature, toward: Ambient.temperature, tau: 6000, seconds: seconds)
        } else if conditions.compressorFailure {
            Self.relax(&temperature, toward: Ambient.temperature, tau: 20400, seconds: seconds)
        } else {
            Self.relax(&temperature, toward: Self.temperatureSetPoint, tau: 600, seconds: seconds)
        }
    }
}
