import LabGate
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
}
