import LabGate
import PostgresNIO
import SiteStore

extension Daemon {
    /// The forwarder to the site store, when the config names one; its state is shown by
    /// `/metrics` and written to the store for `labgate status`.
    func forwarder(_ config: Config) -> Forwarder? {
        guard let settings = config.siteStore, let gateway = config.gateway else {
            metrics?.forward.withLock { $0 = nil }
            return nil
        }
        let state = ForwardState(gateway: gateway, url: settings.url)
        metrics?.forward.withLock { $0 = state }
        return Forwarder(settings: settings, gateway: gateway, store: store, state: state, logger: logger)
    }

    /// The watch on the site's other gateways (`gateway_silent`), when the config names a site store.
    func gatewayWatch(_ config: Config) -> GatewayWatchService? {
        guard let settings = config.siteStore, let gateway = config.gateway else { return nil }
        return GatewayWatchService(settings: settings, gateway: gateway, alerts: alerts, logger: logger)
    }

    /// What the site page reads: a connection of its own per request (a page asked for now and
    /// then), given 10 s to answer.
    func siteStatusReader(_ config: Config) -> (@Sendable () async throws -> SiteStatus)? {
        guard let settings = config.siteStore else { return nil }
        let logger = logger
        return {
            let connection = try await PostgresConnection.connect(
                configuration: settings.connectionConfiguration(connectTimeout: .seconds(5)), id: 3, logger: logger)
            do {
                let status = try await SiteStore.withDeadline(.seconds(10), abandon: { try? await connection.close() }) {
                    try await SiteStatus.read(connection, logger: logger)
                }
                try? await connection.close()
                return status
            } catch {
                try? await connection.close()
                throw error
            }
        }
    }
}
