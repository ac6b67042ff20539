/// A CO2 incubator: 37 °C, 5 % CO2, ~95 % RH.
///
/// An open door lets room air in: CO2 falls toward 0.04 % quickly (tau 1 min), humidity toward
/// room RH (tau 2 min) and the chamber temperature drifts toward 22 °C (tau 10 min). Once the
/// door closes the controllers recover: CO2 with tau 1.5 min (back in 5.0 ± 0.5 % within ~5
/// min), temperature with tau 4 min, humidity with tau 5 min. An empty CO2 supply lets CO2
/// leak away slowly (tau 20 min).
public struct IncubatorModel: PhysicsModel {
    public static let temperatureSetPoint = 37.0
    public static let co2SetPoint = 5.0
    public static let humiditySetPoint = 95.0

    public var temperature = temperatureSetPoint
    public var co2 = co2SetPoint
    public var humidity = humiditySetPoint

    public init() {}

    public func value(of channel: String) -> Double? {
        switch channel {
        case "temperature": temperature
        case "co2": co2
        case "rh", "humidity": humidity
        default: nil
        }
    }

    public mutating func step(seconds: Double, conditions: Conditions) {
        if conditions.doorOpen {
            Self.relax(&temperature, toward: Ambient.temperature, tau: 600, seconds: seconds)
            Self.relax(&co2, toward: Ambient.co2, tau: 60, seconds: seconds)
            Self.relax(&humidity, toward: Ambient.humidity, tau: 120, seconds: seconds)
        } else {
            Self.relax(&temperature, toward: Self.temperatureSetPoint, tau: 240, seconds: seconds)
            if conditions.co2SupplyEmpty {
                Self.relax(&co2, toward: Ambient.co2, tau: 1200, seconds: seconds)
            } else {
                Self.relax(&co2, toward: Self.co2SetPoint, tau: 90, seconds: seconds)
            }
            Self.relax(&humidity, toward: Self.humiditySetPoint, tau: 300, seconds: seconds)
        }
    }
}
