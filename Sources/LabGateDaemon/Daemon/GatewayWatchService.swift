import Foundation
import LabGate
import Logging
import PostgresNIO
import ServiceLifecycle
import SiteStore

/// Watches the site's other gateways through the site store: one that has not forwarded for
/// `silent_after` is raised as `gateway_silent` in this gateway's alert log (and so through the
/// notify routes, like any alert), and cleared as `gateway_forwarding` when it forwards again.
/// It looks every quarter of `silent_after` (1 s to 30 s) on a connection of its own, so the
/// forwarder's batches never wait on it; while the site store cannot be reached it judges nobody
/// (the forwarder reports that outage).
struct GatewayWatchService: Service {
    let settings: SiteStoreSettings
    let gateway: String
    let alerts: AlertLog
    let logger: Logger

    var interval: Duration {
        min(max(settings.silentAfter / 4, .seconds(1)), .seconds(30))
    }

    func run() async {
        await cancelWhenGracefulShutdown {
            var silence = GatewaySilence(gateway: gateway, after: settings.silentAfter)
            var connection: PostgresConnection?
            while !Task.isCancelled {
                do {
                    if connection == nil || connection?.isClosed == true {
                        connection = try await PostgresConnection.connect(
                            configuration: settings.connectionConfiguration(), id: 2, logger: logger)
                    }
                    if let connection {
                        let status = try await SiteStore.withDeadline(.seconds(30), abandon: { try? await connection.close() }) {
                            try await SiteStatus.read(connection, logger: logger)
                        }
                        for event in silence.look(status) { raise(event) }
                    }
                } catch {
                    try? await connection?.close()
                    connection = nil
                }
                try? await Task.sleep(for: interval)
            }
            try? await connection?.close()
        }
    }

    private func raise(_ event: AlertEvent) {
        let text = "\(event.event.rawValue) \(AlertFormatter.summary(event))"
        logger.warning("\(text)")
        do {
            try alerts.write(event)
        } catch {
            logger.critical("\(error); the event was: \(text)")
        }
    }
}
