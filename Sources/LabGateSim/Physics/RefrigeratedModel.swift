/// A compressor-cooled cabinet (ULT freezer, 2–8 °C fridge): an open door or a failed
/// compressor lets it warm toward the room, each with its own time constant; otherwise the
/// compressor pulls it back to its set point.
public struct RefrigeratedModel: PhysicsModel {
    public let setPoint: Double
    /// Time constants in seconds.
    public let doorTau: Double
    public let failureTau: Double
    public let recoveryTau: Double

    public var temperature: Double

    /// −80 °C. A failed compressor warms it about 3 °C per 10 min (tau ≈ 5.7 h toward the room);
    /// an open door about 1 °C per minute; recovery with tau 10 min.
    public static let ultFreezer = RefrigeratedModel(setPoint: -80, doorTau: 6000, failureTau: 20400, recoveryTau: 600)

    /// 5 °C. Door tau 20 min, failed compressor tau 1 h, recovery tau 5 min.
    public static let fridge = RefrigeratedModel(setPoint: 5, doorTau: 1200, failureTau: 3600, recoveryTau: 300)

    public init(setPoint: Double, doorTau: Double, failureTau: Double, recoveryTau: Double) {
        self.setPoint = setPoint
        self.doorTau = doorTau
        self.failureTau = failureTau
        self.recoveryTau = recoveryTau
        self.temperature = setPoint
    }

    public func value(of channel: String) -> Double? {
        channel == "temperature" ? temperature : nil
    }

    public mutating func step(seconds: Double, conditions: Conditions) {
        if conditions.doorOpen {
            Self.relax(&temperature, toward: Ambient.temperature, tau: doorTau, seconds: seconds)
        } else if conditions.compressorFailure {
            Self.relax(&temperature, toward: Ambient.temperature, tau: failureTau, seconds: seconds)
        } else {
            Self.relax(&temperature, toward: setPoint, tau: recoveryTau, seconds: seconds)
        }
    }
}
