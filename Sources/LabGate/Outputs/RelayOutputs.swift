import Modbus

/// Modbus outputs of the configured devices (an I/O module's coils and holding registers), written
/// by each device's bus owner between polls: a relay driving a beacon or the building's alarm
/// dialer, the fail-safe coil.
///
/// A write waits for a gap in its bus's polling (see `PollGaps`) and goes only if it can be over,
/// reply included, before the next poll's slot less the silence that poll's request needs: its
/// reply timeout is the device's, cut to what is left of the gap (half of it when the connection
/// must be opened first). A gap too short for `minimumWindow` is left alone; the write waits for
/// the next. So writes never make a poll late; on a bus that is behind its schedule they wait
/// until it catches up. Single writes are idempotent: one that timed out in a short gap is simply
/// written again by its caller.
public struct RelayOutputs: Sendable {
    /// Which output of a device.
    public enum Output: Sendable, Hashable, CustomStringConvertible {
        /// Written with function 5 (on: 0xFF00, off: 0x0000).
        case coil(Int)
        /// Written with function 6 (on: 1, off: 0).
        case register(Int)

        /// `coil 0`, `register 40`.
        public var description: String {
            switch self {
            case let .coil(address): "coil \(address)"
            case let .register(address): "register \(address)"
            }
        }
    }

    struct Line: Sendable {
        let bus: ModbusBus
        let gaps: PollGaps
    }

    private let lines: [String: Line]
    private let devices: [String: Device]

    init(lines: [String: Line], devices: [Device]) {
        self.lines = lines
        self.devices = Dictionary(devices.map { ($0.id, $0) }) { first, _ in first }
    }

    /// Sets `output` of `device` on or off; returns once the device has confirmed the write (its
    /// echo). With `within`, gives up (`noGap`) when no gap of its bus could take the write in
    /// that time; a write under way is never cut short.
    public func set(device id: String, output: Output, on: Bool, within: Duration? = nil) async throws(RelayWriteError) {
        func failure(_ reason: RelayWriteError.Reason) -> RelayWriteError {
            RelayWriteError(device: id, output: output, on: on, reason: reason)
        }
        guard let device = devices[id], let line = lines[device.bus] else { throw failure(.unknownDevice) }
        let deadline = within.map { ContinuousClock.now + $0 }
        let outcome = await Self.write(output, on: on, device: device, gaps: line.gaps, deadline: deadline, bus: line.bus)
        if case let .failure(reason) = outcome { throw failure(reason) }
    }

    /// The least time a write needs: its request and reply on the wire, with their silences, twice
    /// over for the device's turnaround; 20 ms at least.
    static func minimumWindow(_ transport: ModbusTransport) -> Duration {
        var window = Duration.milliseconds(20)
        if case let .rtu(settings) = transport {
            window = max(window, (settings.wireTime(bytes: 16) + settings.silence * 2) * 2)
        }
        return window
    }

    /// Runs on the bus owner's thread (isolated to it), between the poller's turns.
    private static func write(
        _ output: Output, on: Bool, device: Device, gaps: PollGaps, deadline: ContinuousClock.Instant?,
        bus: isolated ModbusBus
    ) async -> Result<Void, RelayWriteError.Reason> {
        var after: UInt64?
        while true {
            guard let window = await gaps.turn(after: after, deadline: deadline) else {
                return .failure(Task.isCancelled ? .cancelled : .noGap)
            }
            var options = device.transactionOptions
            if let freeUntil = window.freeUntil {
                var budget = ContinuousClock.now.duration(to: freeUntil) - max(bus.transport.interFrameSilence, device.minGap)
                if !bus.isConnected { budget = (budget - device.pauseAfterConnect) / 2 }
                guard budget >= minimumWindow(bus.transport) else {
                    after = window.gap
                    continue
                }
                options.timeout = min(options.timeout, budget)
            }
            defer { gaps.release() }
            do {
                switch output {
                case let .coil(address):
                    try bus.writeCoil(unit: device.unit, address: address, on: on, options: options)
                case let .register(address):
                    try bus.writeRegister(unit: device.unit, address: address, value: on ? 1 : 0, options: options)
                }
                return .success(())
            } catch {
                if case let .exception(exception) = error { return .failure(.exception(exception)) }
                return .failure(.failed(error))
            }
        }
    }
}

/// A relay or fail-safe write that did not land, naming the device, the output and why.
public struct RelayWriteError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Error, Sendable, Equatable {
        /// No configured device has this id (or its bus is not polled by this daemon).
        case unknownDevice
        /// The device answered with a Modbus exception (2: no such output, 4: device failure, ...).
        case exception(ModbusException)
        /// No reply, a garbled one, or the bus could not be opened.
        case failed(ModbusError)
        /// No gap in the bus's polling could take the write in the time given.
        case noGap
        /// The caller's task was cancelled while the write waited for its turn.
        case cancelled
    }

    public var device: String
    public var output: RelayOutputs.Output
    public var on: Bool
    public var reason: Reason

    public init(device: String, output: RelayOutputs.Output, on: Bool, reason: Reason) {
        self.device = device
        self.output = output
        self.on = on
        self.reason = reason
    }

    /// The exception code the device answered with, if it did.
    public var exceptionCode: UInt8? {
        if case let .exception(exception) = reason { return exception.code }
        return nil
    }

    /// e.g. `IO-01 coil 17 on: exception 2 (illegal data address)`.
    public var description: String {
        let what = "\(device) \(output) \(on ? "on" : "off")"
        switch reason {
        case .unknownDevice: return "\(what): no such device on a polled bus"
        case let .exception(exception): return "\(what): exception \(exception)"
        case let .failed(error): return "\(what): \(error)"
        case .noGap: return "\(what): no gap in the bus's polling took the write in time"
        case .cancelled: return "\(what): cancelled"
        }
    }
}

extension RelayOutputs {
    /// Sets a relay channel's output (`notify.channels[].relay`) on or off.
    public func set(_ relay: RelayOutput, on: Bool, within: Duration? = nil) async throws(RelayWriteError) {
        try await set(device: relay.device, output: Output(relay.target), on: on, within: within)
    }
}

extension RelayOutputs.Output {
    /// The output a relay channel of the config names.
    public init(_ target: RelayOutput.Target) {
        switch target {
        case let .coil(address): self = .coil(address)
        case let .register(address): self = .register(address)
        }
    }
}
