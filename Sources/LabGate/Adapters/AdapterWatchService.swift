import Foundation
import Logging
import Modbus
import ServiceLifecycle

/// Tells serial buses when their adapter is plugged in again, so they reopen at once instead of
/// at their next scheduled attempt. Where udev is absent it says so once and does nothing.
package struct AdapterWatchService: Service {
    /// Serial buses with what names their adapter: a USB identity, or a path that resolves to a node.
    let buses: [(bus: ModbusBus, config: Bus)]
    let logger: Logger

    package init(buses: [(bus: ModbusBus, config: Bus)], logger: Logger) {
        self.buses = buses
        self.logger = logger
    }

    package func run() async {
        let serial = buses.filter { if case .rtu = $0.config.transport { true } else { false } }
        guard !serial.isEmpty else { return }
        let monitor = AdapterMonitor()
        monitor.start { logger.notice("\($0)") }
        await withGracefulShutdownHandler {
            for await event in monitor.events where event.action == .added {
                for (bus, config) in serial where Self.names(config, event.adapter) {
                    logger.notice("adapter of bus \(config.id) plugged in at \(event.adapter.node): reopening")
                    await bus.adapterReturned()
                }
            }
        } onGracefulShutdown: {
            monitor.stop()
        }
    }

    /// Whether the bus's adapter is the one just plugged in.
    static func names(_ bus: Bus, _ adapter: SerialAdapter) -> Bool {
        if let match = bus.adapter { return match.matches(adapter) }
        guard case let .rtu(settings) = bus.transport else { return false }
        let resolved = (try? FileManager.default.destinationOfSymbolicLink(atPath: settings.port))
            .map { URL(fileURLWithPath: $0, relativeTo: URL(fileURLWithPath: settings.port).deletingLastPathComponent()).standardizedFileURL.path }
        return settings.port == adapter.node || resolved == adapter.node
            || adapter.byID.contains(settings.port) || adapter.byPath.contains(settings.port)
    }
}
