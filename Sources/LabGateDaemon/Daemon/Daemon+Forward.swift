import LabGate
import PostgresNIO
import SiteStore

extension Daemon {
    /// The site's lots as this gateway reads them back, when the config names a site store.
    func siteLots(_ config: Config) -> SiteLotView? {
        guard let settings = config.siteStore, let gateway = config.gateway else { return nil }
        return SiteLotView(gateway: gateway, store: settings.url)
    }

    /// The forwarder to the site store, when the config names one; its state is shown by
    /// `/metrics` and written to the store for `labgate status`. It claims the config's device
    /// ids at the site and reads the other gateways' lot events into `siteLots`, after which this
    /// gateway ends (or restores) its placements as the site's path says.
    func forwarder(_ config: Config, siteLots: SiteLotView?) -> Forwarder? {
        guard let settings = config.siteStore, let gateway = config.gateway else {
            metrics?.forward.withLock { $0 = nil }
            return nil
        }
        let state = ForwardState(gateway: gateway, url: settings.url)
        metrics?.forward.withLock { $0 = state }
        let book = LotBook(store: store, registry: registry, config: config, site: siteLots)
        let (user, logger) = (self.user, self.logger)
        return Forwarder(
            settings: settings, gateway: gateway, store: store, state: state, devices: config.devices.map(\.id),
            siteLots: siteLots,
            follow: {
                for followed in await book.followSite(user: user) {
                    logger.notice("lot \(followed.lot): \(followed.event.action.rawValue) — \(followed.event.note ?? "")")
                }
            },
            logger: logger)
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
