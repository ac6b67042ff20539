import LabGate
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
}
