/// The physical situation of one device at a moment, as the active scenario events make it.
///
/// Only events that change physics appear here; `silent`, `sensor_fault` and `exception` act on
/// the Modbus side and leave the physics alone.
public struct Conditions: Sendable, Hashable {
    public var doorOpen = false
    public var co2SupplyEmpty = false
    public var compressorFailure = false
    public var fillMissed = false

    public init(doorOpen: Bool = false, co2SupplyEmpty: Bool = false, compressorFailure: Bool = false, fillMissed: Bool = false) {
        self.doorOpen = doorOpen
        self.co2SupplyEmpty = co2SupplyEmpty
        self.compressorFailure = compressorFailure
        self.fillMissed = fillMissed
    }
}

/// The room the devices stand in.
public enum Ambient {
    public static let temperature = 22.0
    /// Room air, in % CO2.
    public static let co2 = 0.04
    /// Room air, in % relative humidity.
    public static let humidity = 50.0
}
