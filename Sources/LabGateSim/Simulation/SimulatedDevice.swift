import Modbus
import LabGate

/// One simulated device: its physics, its sensor readings, the scenario events acting on it, and
/// how it answers Modbus requests.
public struct SimulatedDevice: Sendable {
    /// Sensor noise amplitude (uniform, ±).
    public static let noise = 0.02

    public let device: Device
    public let profile: Profile
    public private(set) var model: any PhysicsModel
    /// What the sensors read now (true value plus noise), by profile channel.
    public private(set) var readings: [String: Double] = [:]
    /// Active scenario events, by their index in the scenario.
    public private(set) var active: [Int: ScenarioEvent] = [:]
    public private(set) var conditions = Conditions()
    /// Requests received while each `exception` event with `every` lasts, by event index.
    private var requestCounts: [Int: Int] = [:]
    /// Channels whose sensor reads a fixed value, whatever the physics says (see `force`).
    public private(set) var forced: [String: Double] = [:]
    /// The coils and holding registers of an I/O module (kind `io_module`); nil for the others.
    public private(set) var outputs: IOModuleOutputs?

    init(device: Device, profile: Profile, watchdog: Duration? = IOModuleOutputs.defaultWatchdog, random: inout SimRandom) {
        self.device = device
        self.profile = profile
        self.model = PhysicsModels.make(for: device.kind)
        if device.kind == .ioModule { outputs = IOModuleOutputs(watchdog: watchdog) }
        sample(random: &random)
    }

    /// An I/O module's communication watchdog: true when it dropped the outputs just now.
    mutating func expireWatchdog(at now: ContinuousClock.Instant) -> Bool {
        outputs?.expire(at: now) ?? false
    }

    /// The current reading of `channel` (a profile channel, or a quantity of the model).
    public func value(channel: String) -> Double? {
        readings[channel] ?? model.value(of: channel)
    }

    mutating func step(seconds: Double, random: inout SimRandom) {
        model.step(seconds: seconds, conditions: conditions)
        sample(random: &random)
    }

    /// Profile channels the model does not know read a steady 0 (plus noise).
    private mutating func sample(random: inout SimRandom) {
        for field in profile.fields {
            readings[field.channel] = forced[field.channel] ?? (model.value(of: field.channel) ?? 0) + random.noise(Self.noise)
        }
    }

    /// Makes `channel` read `value` from now on, exactly (no noise), until forced again or released
    /// with nil: then it reads the physics again at once (noise comes back with the next step).
    mutating func force(channel: String, to value: Double?) {
        forced[channel] = value
        readings[channel] = value ?? model.value(of: channel) ?? 0
    }

    mutating func begin(_ event: ScenarioEvent, index: Int) {
        active[index] = event
        requestCounts[index] = 0
        updateConditions()
    }

    mutating func end(index: Int) {
        active[index] = nil
        requestCounts[index] = nil
        updateConditions()
    }

    private mutating func updateConditions() {
        var conditions = Conditions()
        for event in active.values {
            switch event.kind {
            case .doorOpen: conditions.doorOpen = true
            case .co2SupplyEmpty: conditions.co2SupplyEmpty = true
            case .compressorFailure: conditions.compressorFailure = true
            case .fillMissed: conditions.fillMissed = true
            case .silent, .sensorFault, .exception, .slow, .crcError, .truncated, .wrongUnit, .portVanish: break
            }
        }
        self.conditions = conditions
    }

    public var isSilent: Bool {
        active.values.contains { $0.kind == .silent }
    }

    /// The exception code it answers everything with now (the latest such event wins; one with
    /// `every` answers only some requests with it, see `reply(to:)`).
    public var exceptionCode: UInt8? {
        latestException?.code
    }

    private var latestException: (index: Int, code: UInt8, every: Int)? {
        for (index, event) in active.sorted(by: { $0.key < $1.key }).reversed() {
            if case let .exception(code) = event.kind { return (index, code, event.every ?? 1) }
        }
        return nil
    }

    /// How its replies go wrong on the wire now (slow, bad CRC, cut short, wrong unit id).
    public var wireFaults: WireFaults {
        var faults = WireFaults()
        for event in active.values {
            switch event.kind {
            case let .slow(by): faults.delay = max(faults.delay, by)
            case .crcError: faults.corruptCRC = true
            case .truncated: faults.truncate = true
            case .wrongUnit: faults.wrongUnit = true
            default: break
            }
        }
        return faults
    }

    /// Whether its serial port is gone now.
    public var portVanished: Bool {
        active.values.contains { $0.kind == .portVanish }
    }

    public func isFaulty(_ channel: String) -> Bool {
        active.values.contains { $0.kind == .sensorFault(channel: channel) }
    }

    /// The device's answer to `request` arriving at `now` (real time, for an I/O module's watchdog).
    public mutating func reply(to request: ModbusRequest, at now: ContinuousClock.Instant = .now) -> ModbusReply {
        if isSilent { return .none }
        if let exception = latestException {
            let count = requestCounts[exception.index, default: 0]
            requestCounts[exception.index] = count + 1
            if count % exception.every == 0 { return .exception(ModbusException(code: exception.code)) }
        }
        if let reply = outputs?.reply(to: request, at: now) { return reply }
        guard case let .read(table, address, count) = request else { return .exception(.illegalFunction) }
        guard (1...125).contains(count) else { return .exception(.illegalDataValue) }
        guard let words = registers(table: table, address: address, count: count) else {
            return .exception(.illegalDataAddress)
        }
        return .registers(words)
    }

    /// The registers `address..<address+count` of `table`, or nil unless every one belongs to a field.
    public func registers(table: ModbusTable, address: Int, count: Int) -> [UInt16]? {
        let wanted = address..<(address + count)
        var words = [UInt16?](repeating: nil, count: count)
        for field in profile.fields where field.table == table && field.addresses.overlaps(wanted) {
            let value = readings[field.channel] ?? 0
            let encoded = RegisterImage.words(for: field, value: value, faulty: isFaulty(field.channel))
            for (offset, word) in encoded.enumerated() where wanted.contains(field.address + offset) {
                words[field.address + offset - address] = word
            }
        }
        guard words.allSatisfy({ $0 != nil }) else { return nil }
        return words.map { $0! }
    }
}
