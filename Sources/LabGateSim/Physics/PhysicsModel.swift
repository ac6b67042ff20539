import Foundation
import LabGate

/// The physics of one device: a few quantities that relax toward targets set by the device's
/// control loop and by the conditions (door open, compressor failed...), stepped in simulated time.
///
/// Models are deterministic; sensor noise is added by the caller from a seeded generator.
public protocol PhysicsModel: Sendable {
    /// The true physical value behind `channel` (a profile channel name), or nil when this model
    /// has no such quantity.
    func value(of channel: String) -> Double?

    /// Advance by `seconds` of simulated time under `conditions`.
    mutating func step(seconds: Double, conditions: Conditions)
}

extension PhysicsModel {
    /// First-order relaxation of `value` toward `target` with time constant `tau` (seconds);
    /// exact for any step length, so large steps never overshoot.
    static func relax(_ value: inout Double, toward target: Double, tau: Double, seconds: Double) {
        guard tau > 0 else {
            value = target
            return
        }
        value = target + (value - target) * exp(-seconds / tau)
    }
}

/// The model for each device kind.
public enum PhysicsModels {
    public static func make(for kind: DeviceKind) -> any PhysicsModel {
        switch kind {
        case .incubator: IncubatorModel()
        case .freezer: RefrigeratedModel.ultFreezer
        case .ln2Tank: LN2TankModel()
        case .fridge: RefrigeratedModel.fridge
        case .other, .ioModule: AmbientModel()
        }
    }
}
