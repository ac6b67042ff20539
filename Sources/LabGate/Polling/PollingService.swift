import Glibc
import Logging
import Modbus
import ServiceLifecycle

/// Runs one poller per bus and hands every poll result to `deliver` (the pipeline's). On graceful
/// shutdown it lets the polls in flight finish, then calls `end` so the pipeline can drain.
public struct PollingService: Service {
    private let buses: [(ModbusBus, [DevicePoller])]
    /// Each bus owner with its configuration (for the adapter watch).
    package let owners: [(bus: ModbusBus, config: Bus)]
    /// When each bus's poller leaves the line free, by bus id.
    private let gaps: [String: PollGaps]
    /// The devices' outputs, written by their bus owners between polls.
    public let outputs: RelayOutputs
    private let deliver: @Sendable (PollingEvent) -> Void
    private let end: @Sendable () -> Void
    private let counters: PollCounters
    private let heartbeat: SchedulerHeartbeat
    private let started: @Sendable () -> Void
    private let logger: Logger

    /// `started` is called once every bus's poller is running.
    public init(
        config: Config, deliver: @escaping @Sendable (PollingEvent) -> Void, end: @escaping @Sendable () -> Void,
        counters: PollCounters,
        heartbeat: SchedulerHeartbeat, logger: Logger, started: @escaping @Sendable () -> Void = {}
    ) {
        self.buses = config.buses.map { bus in
            let pollers = config.devices(on: bus.id).map {
                DevicePoller(device: $0, profile: config.profile(of: $0), logger: logger)
            }
            return (ModbusBus(name: bus.id, transport: bus.transport, resolvePort: bus.adapter.map(Self.resolver)), pollers)
        }
        self.owners = zip(buses, config.buses).map { ($0.0, $1) }
        // A bus with devices is busy until its poller first waits (writes do not jump its first polls).
        let gaps = Dictionary(config.buses.map { ($0.id, PollGaps(polling: !config.devices(on: $0.id).isEmpty)) }) { first, _ in first }
        self.gaps = gaps
        self.outputs = RelayOutputs(
            lines: Dictionary(owners.map { ($0.config.id, RelayOutputs.Line(bus: $0.bus, gaps: gaps[$0.config.id]!)) }) { first, _ in first },
            devices: config.devices)
        self.deliver = deliver
        self.end = end
        self.counters = counters
        self.heartbeat = heartbeat
        self.started = started
        self.logger = logger
    }

    /// Looks the adapter up among those plugged in now, at each (re)open of its bus.
    private static func resolver(_ match: USBAdapterMatch) -> @Sendable () -> Result<String, ModbusError> {
        {
            switch match.resolve(in: SerialAdapters.list()) {
            case let .success(adapter): .success(adapter.node)
            case let .failure(error): .failure(.transport(errno: ENODEV, error.description))
            }
        }
    }

    public func run() async {
        let deliver = deliver
        let logger = logger
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                let polled = buses.filter { !$0.1.isEmpty }
                for (number, (bus, pollers)) in polled.enumerated() {
                    logger.info("polling bus \(bus.name) (\(bus.transport)): \(pollers.map(\.device.id).joined(separator: ", "))")
                    let poller = BusPoller(
                        bus: bus, pollers: pollers, counters: counters, heartbeat: heartbeat,
                        phase: Double(number) / Double(polled.count), gaps: gaps[bus.name])
                    group.addTask {
                        await poller.run(
                            deliver: deliver,
                            missed: { logger.warning("\($1) poll(s) of \($0) skipped: bus \(bus.name) is behind its schedule") })
                        await bus.disconnect()
                    }
                }
                started()
            }
        }
        end()
    }
}
