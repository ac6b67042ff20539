import Logging
import Modbus
import ServiceLifecycle

/// Runs one poller per bus and hands every poll result to the pipeline's stream. On graceful
/// shutdown it lets the polls in flight finish, then ends the stream so the pipeline can drain.
public struct PollingService: Service {
    private let buses: [(ModbusBus, [DevicePoller])]
    private let output: AsyncStream<PollingEvent>.Continuation
    private let counters: PollCounters
    private let logger: Logger

    public init(config: Config, output: AsyncStream<PollingEvent>.Continuation, counters: PollCounters, logger: Logger) {
        self.buses = config.buses.map { bus in
            let transport: ModbusTransport
            switch bus.transport {
            case let .tcp(host, port): transport = .tcp(host: host, port: port)
            }
            let pollers = config.devices(on: bus.id).map {
                DevicePoller(device: $0, profile: config.profile(of: $0), logger: logger)
            }
            return (ModbusBus(name: bus.id, transport: transport), pollers)
        }
        self.output = output
        self.counters = counters
        self.logger = logger
    }

    public func run() async {
        let output = output
        let logger = logger
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                for (bus, pollers) in buses where !pollers.isEmpty {
                    logger.info("polling bus \(bus.name) (\(bus.transport)): \(pollers.map(\.device.id).joined(separator: ", "))")
                    let poller = BusPoller(bus: bus, pollers: pollers, counters: counters)
                    group.addTask {
                        await poller.run(
                            deliver: { output.yield($0) },
                            missed: { logger.warning("\($1) poll(s) of \($0) skipped: bus \(bus.name) is behind its schedule") })
                        await bus.disconnect()
                    }
                }
            }
        }
        output.finish()
    }
}
