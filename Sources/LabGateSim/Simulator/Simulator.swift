import Dispatch
import Foundation
import LabGate
import ServiceLifecycle
import Synchronization

/// Simulated devices served over Modbus TCP and RTU: one server per bus of the config whose host
/// is a loopback address or whose serial port is not under /dev (a pty appears at that path),
/// several unit ids per bus, physics stepped in simulated time (real elapsed
/// time × `speed`) by a background thread every 100 ms, scenario events announced as they fire.
///
/// Run it with `start()`/`stop()`, or as a `Service` whose `run()` serves until the task is
/// cancelled or a graceful shutdown is triggered.
public final class Simulator: Service, Sendable {
    /// Real time between physics updates.
    public static let tick = Duration.milliseconds(100)

    public let config: Config
    public let speed: Double
    private let box: SimulationBox
    private let servers: [(bus: Bus, server: ModbusTCPServer)]
    private let serialServers: [(bus: Bus, server: ModbusRTUServer)]
    private let skipped: [String]
    private let announce: @Sendable (String) -> Void
    private let clock = Mutex(ClockState())
    private let clockThread = DispatchGroup()

    private struct ClockState {
        /// Simulated time when the clock last started.
        var base: Duration = .zero
        var started: ContinuousClock.Instant?
        var stopSignal: DispatchSemaphore?
    }

    /// - Parameters:
    ///   - speed: simulated seconds per real second (≥ 0).
    ///   - seed: makes the sensor noise repeatable; nil picks one at random.
    ///   - announce: hears each line worth telling an operator (events, buses); standard error by default.
    public init(
        config: Config, scenario: Scenario = Scenario(), speed: Double = 1, seed: UInt64? = nil,
        announce: @escaping @Sendable (String) -> Void = Simulator.printToStandardError
    ) {
        precondition(speed.isFinite && speed >= 0, "speed must be a finite number ≥ 0")
        self.config = config
        self.speed = speed
        self.announce = announce
        let box = SimulationBox(Simulation(config: config, scenario: scenario, seed: seed))
        self.box = box
        var servers: [(Bus, ModbusTCPServer)] = []
        var serialServers: [(Bus, ModbusRTUServer)] = []
        var skipped: [String] = []
        for bus in config.buses {
            switch bus.transport {
            case let .rtu(settings):
                if settings.port.hasPrefix("/dev/") {
                    skipped.append("sim: skipping bus \(bus.id) (\(settings.port)): a real device path; name a path outside /dev")
                } else {
                    serialServers.append((bus, ModbusRTUServer(
                        settings: settings, handler: SimulatedBus(bus: bus.id, box: box, announce: announce), announce: announce)))
                }
            case let .tcp(host, port):
                if Loopback.isLoopback(host) {
                    servers.append((bus, ModbusTCPServer(
                        host: host, port: port, handler: SimulatedBus(bus: bus.id, box: box, announce: announce))))
                } else {
                    skipped.append("sim: skipping bus \(bus.id) (\(Endpoint.text(host: host, port: port))): not a loopback address")
                }
            }
        }
        self.servers = servers
        self.serialServers = serialServers
        self.skipped = skipped
    }

    /// Writes `line` to standard error.
    @Sendable public static func printToStandardError(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// Ids of the buses it serves.
    public var servedBuses: [String] { servers.map(\.bus.id) + serialServers.map(\.bus.id) }

    /// The pty a served serial bus is on now (`/dev/pts/N`; nil while its port has vanished).
    public func serialDevice(bus: String) -> String? {
        serialServers.first { $0.bus.id == bus }?.server.slavePath
    }

    /// Requests seen on a served serial bus, with arrival and reply times.
    public func serialTraffic(bus: String) -> [RTUTraffic] {
        serialServers.first { $0.bus.id == bus }?.server.traffic ?? []
    }

    /// The port a served bus listens on (useful when the config asked for port 0).
    public func port(bus: String) -> Int? {
        servers.first { $0.bus.id == bus }?.server.port
    }

    /// Simulated time since the start.
    public var now: Duration { box.state.withLock { $0.now } }

    /// The current reading of a device's channel (its physical value with sensor noise).
    public func value(device: String, channel: String) -> Double? {
        box.state.withLock { $0.value(device: device, channel: channel) }
    }

    /// Makes a device's channel read `value` from the next request on, until forced again or
    /// released with nil (then it follows the physics again): a step change at a moment the caller
    /// knows, e.g. to time how soon the daemon alerts. False when there is no such device channel.
    @discardableResult
    public func force(device: String, channel: String, to value: Double?) -> Bool {
        box.state.withLock { $0.force(device: device, channel: channel, to: value) }
    }

    /// The coils of simulated I/O module `device` now (nil: no such module): what its relays do.
    public func coils(device: String) -> [Bool]? {
        box.state.withLock { $0.coils(device: device) }
    }

    /// The output registers of simulated I/O module `device` now (nil: no such module).
    public func outputRegisters(device: String) -> [UInt16]? {
        box.state.withLock { $0.outputRegisters(device: device) }
    }

    public var isRunning: Bool { clock.withLock { $0.started != nil } }

    /// Starts every server and the clock; throws, naming bus and host:port, when a server cannot
    /// listen (and then leaves nothing running). Does nothing when already running.
    public func start() throws(SimulatorError) {
        if isRunning { return }
        for line in skipped { announce(line) }
        var started: [ModbusTCPServer] = []
        var startedSerial: [ModbusRTUServer] = []
        func undo() {
            for server in started { server.stop() }
            for server in startedSerial { server.stop() }
        }
        for (bus, server) in servers {
            do {
                try server.start()
            } catch {
                undo()
                throw SimulatorError(bus: bus.id, underlying: error)
            }
            started.append(server)
            announce("sim: bus \(bus.id) on \(server.endpoint), units \(units(on: bus))")
        }
        // Scenario events due at the start (a port that is gone from the beginning) apply first.
        box.state.withLock { $0.advance(to: clock.withLock { $0.base }, announce: announce) }
        for (bus, server) in serialServers {
            do {
                try server.start()
            } catch {
                undo()
                throw SimulatorError(bus: bus.id, underlying: error)
            }
            startedSerial.append(server)
            let device = server.slavePath.map { " -> \($0)" } ?? " (vanished)"
            announce("sim: bus \(bus.id) on \(server.path)\(device) (rtu \(server.settings.baud) \(server.settings.format)), units \(units(on: bus))")
        }
        startClock()
    }

    private func units(on bus: Bus) -> String {
        config.devices(on: bus.id).map { "\($0.unit) \($0.id)" }.joined(separator: ", ")
    }

    /// Stops the clock and every server (closing their connections, removing pty symlinks);
    /// simulated time pauses.
    public func stop() {
        stopClock()
        for (_, server) in servers { server.stop() }
        for (_, server) in serialServers { server.stop() }
    }

    /// Moves simulated time forward by `duration` at once (on top of the running clock), starting
    /// and ending scenario events on the way: with `speed` 0, tests step time by hand.
    public func advance(by duration: Duration) {
        let target = clock.withLock { state in
            state.base = state.base + duration
            return state.base + (state.started.map { $0.duration(to: .now) * speed } ?? .zero)
        }
        box.state.withLock { $0.advance(to: target, announce: announce) }
    }

    /// Starts, serves until the task is cancelled or a graceful shutdown is triggered, then stops.
    public func run() async throws {
        try start()
        defer { stop() }
        do {
            try await gracefulShutdown()
        } catch is CancellationError {
            // Cancellation is the normal way to end outside a ServiceGroup.
        }
    }

    private func startClock() {
        let signal = DispatchSemaphore(value: 0)
        let base = clock.withLock { state in
            state.started = .now
            state.stopSignal = signal
            return state.base
        }
        box.state.withLock { $0.advance(to: base, announce: announce) }
        clockThread.enter()
        Thread.detachNewThread { [self] in
            while signal.wait(timeout: .now() + .milliseconds(100)) == .timedOut {
                let target = clock.withLock { state in
                    state.started.map { state.base + ($0.duration(to: .now)) * speed }
                }
                guard let target else { break }
                let now = ContinuousClock.now
                box.state.withLock { simulation in
                    simulation.advance(to: target, announce: announce)
                    // An I/O module's watchdog runs in real time, whatever the speed.
                    simulation.expireWatchdogs(at: now, announce: announce)
                }
            }
            clockThread.leave()
        }
    }

    /// Stops the clock thread and brings the simulation up to the moment of stopping.
    private func stopClock() {
        let stopped = clock.withLock { state -> (DispatchSemaphore?, Duration)? in
            guard let started = state.started else { return nil }
            state.base = state.base + started.duration(to: .now) * speed
            state.started = nil
            defer { state.stopSignal = nil }
            return (state.stopSignal, state.base)
        }
        guard let (signal, time) = stopped else { return }
        signal?.signal()
        clockThread.wait()
        box.state.withLock { $0.advance(to: time, announce: announce) }
    }
}
