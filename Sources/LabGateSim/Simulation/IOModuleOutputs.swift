import LabGate
import Modbus

/// The outputs of a simulated Modbus I/O module (a device of kind `io_module`): coils and holding
/// registers that function 5 and 6 write and functions 1 and 3 read back, and the module's
/// communication watchdog. As on a real module (WAGO 750-352, Moxa ioLogik), the watchdog drops
/// every output to off once no write has come for its time, so a relay held on by a controller
/// that died falls off by itself. Time here is real (monotonic) time, whatever the simulation's
/// speed: it watches the link, not the physics.
public struct IOModuleOutputs: Sendable, Hashable {
    /// Coils 0..<16 and holding registers 0..<16 (a 16-channel module); other addresses answer
    /// exception 2.
    public static let channels = 16
    /// A module whose scenario names no watchdog time.
    public static let defaultWatchdog = Duration.seconds(10)

    public private(set) var coils = [Bool](repeating: false, count: channels)
    public private(set) var registers = [UInt16](repeating: 0, count: channels)
    /// Nil: no watchdog (outputs stay as written).
    public let watchdog: Duration?
    /// When the last write came; nil before the first one and once the watchdog has fired.
    private var lastWrite: ContinuousClock.Instant?

    public init(watchdog: Duration? = IOModuleOutputs.defaultWatchdog) {
        self.watchdog = watchdog
    }

    /// Whether any output is on.
    public var anyOn: Bool { coils.contains(true) || registers.contains { $0 != 0 } }

    /// Drops every output once the watchdog time has passed since the last write; true when it
    /// did so now (to be announced).
    mutating func expire(at now: ContinuousClock.Instant) -> Bool {
        guard let watchdog, let lastWrite, lastWrite.duration(to: now) >= watchdog else { return false }
        self.lastWrite = nil
        let wasOn = anyOn
        coils = coils.map { _ in false }
        registers = registers.map { _ in 0 }
        return wasOn
    }

    /// The answer to a request for the outputs (functions 1, 3, 5, 6), or nil when the request is
    /// not about them (a read of input registers, or of holding registers past the outputs, which
    /// the device's profile may serve).
    mutating func reply(to request: ModbusRequest, at now: ContinuousClock.Instant) -> ModbusReply? {
        let all = 0..<Self.channels
        switch request {
        case let .readCoils(address, count):
            guard (1...2000).contains(count) else { return .exception(.illegalDataValue) }
            guard all.contains(address), address + count <= Self.channels else { return .exception(.illegalDataAddress) }
            return .coils(Array(coils[address..<(address + count)]))
        case let .read(.holding, address, count) where all.contains(address):
            guard (1...125).contains(count) else { return .exception(.illegalDataValue) }
            guard address + count <= Self.channels else { return .exception(.illegalDataAddress) }
            return .registers(Array(registers[address..<(address + count)]))
        case let .writeCoil(address, raw):
            guard raw == 0xFF00 || raw == 0 else { return .exception(.illegalDataValue) }
            guard all.contains(address) else { return .exception(.illegalDataAddress) }
            coils[address] = raw == 0xFF00
            lastWrite = now
            return .echo
        case let .writeRegister(address, value):
            guard all.contains(address) else { return .exception(.illegalDataAddress) }
            registers[address] = value
            lastWrite = now
            return .echo
        default:
            return nil
        }
    }
}
