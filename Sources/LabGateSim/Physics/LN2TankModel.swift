/// An LN2 vapour-phase tank: vapour at −190 °C, level at 80 %, kept there by regular fills.
///
/// A missed fill lets the level fall steadily (0.5 % per minute, sped up so that a demo shows it);
/// once the level is below 20 % the vapour warms toward the room (tau 2 h: above −150 °C about
/// 25 min later). When fills resume the level rises 2 % per minute back to 80 % and the vapour
/// cools back (tau 10 min) as soon as the level is above 20 % again.
public struct LN2TankModel: PhysicsModel {
    public static let temperatureSetPoint = -190.0
    public static let fullLevel = 80.0
    /// Below this level the vapour can no longer be held cold.
    public static let criticalLevel = 20.0
    /// % per second while fills are missed.
    public static let boilOffRate = 0.5 / 60
    /// % per second while refilling.
    public static let refillRate = 2.0 / 60

    public var temperature = temperatureSetPoint
    public var level = fullLevel

    public init() {}

    public func value(of channel: String) -> Double? {
        switch channel {
        case "temperature": temperature
        case "level": level
        default: nil
        }
    }

    public mutating func step(seconds: Double, conditions: Conditions) {
        if conditions.fillMissed {
            level = max(0, level - Self.boilOffRate * seconds)
        } else if level < Self.fullLevel {
            level = min(Self.fullLevel, level + Self.refillRate * seconds)
        }
        if level < Self.criticalLevel {
            Self.relax(&temperature, toward: Ambient.temperature, tau: 7200, seconds: seconds)
        } else {
            Self.relax(&temperature, toward: Self.temperatureSetPoint, tau: 600, seconds: seconds)
        }
    }
}
