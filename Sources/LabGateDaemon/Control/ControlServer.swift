import Foundation
import Glibc
import Hummingbird
import HummingbirdCore
import LabGate
import Logging
import NIOCore
import ServiceLifecycle

/// The daemon's control socket: HTTP/1.1 with JSON on a Unix domain socket. Every request is
/// attributed to the user the kernel names for its peer (SO_PEERCRED), never to anything the
/// request says; roles come from that user's groups (`roles:` in the config). A refused action
/// gets 403 with the reason, decided from the headers alone, and is audited as refused (coalesced
/// per uid, `RefusalLedger`). Any user of the host may connect, so what one user can hold is
/// bounded (`ConnectionLimits`): idle connections close, connections per uid are capped, bodies
/// are capped. Signed acts re-authenticate the peer's user through PAM (`signer`, by default the
/// `labgate` PAM service).
public struct ControlServer: Service {
    let path: String
    let handlers: ControlHandlers
    let limits: ConnectionLimits
    let logger: Logger

    public init(
        path: String, config: Config, store: ReadingStore, registry: LotRegistry, deviations: DeviationBook, alerts: AlertLog,
        progress: DeviationProgress = DeviationProgress(), resolver: any IdentityResolver = SystemIdentityResolver(),
        limits: ConnectionLimits = ConnectionLimits(), refusalWindow: Duration = .seconds(60), notifier: Notifier? = nil,
        anchorSources: [AnchorSource] = [], signer: Signer? = nil, siteLots: SiteLotView? = nil, logger: Logger
    ) {
        self.path = path
        self.logger = logger
        self.limits = limits
        let refusals = RefusalLedger(window: refusalWindow, logger: logger) { draft in
            do {
                try await store.pool.write { db in _ = try AuditTrail.append(draft, db: db) }
            } catch {
                logger.critical("cannot audit a refused request: \(error); \(TerminalText.escape(draft.reason ?? ""))")
            }
        }
        self.handlers = ControlHandlers(
            config: config, store: store, lots: LotBook(store: store, registry: registry, config: config, site: siteLots),
            registry: registry, deviations: deviations, progress: progress, alerts: alerts,
            identities: IdentityLookup(resolver: resolver), refusals: refusals, notifier: notifier,
            anchorSources: anchorSources, signer: signer ?? Signer(store: store), logger: logger)
        if !config.signatures.require.isEmpty, geteuid() != 0, access("/etc/shadow", R_OK) != 0 {
            // pam_unix then asks its helper unix_chkpwd, which checks only this user's own password:
            // every signer's password would be refused as wrong.
            logger.warning("signatures are required but /etc/shadow is not readable: pam_unix cannot check signers' passwords (give the daemon the shadow group, or use SSSD); see README, Electronic signatures")
        }
    }

    /// Fails when the socket's folder is missing or not writable, or another daemon answers on it.
    public static func checkPath(_ path: String) throws(StartupError) {
        try StartupError.checkWritableFolder(of: path, what: "control socket")
        if UnixSocketAddress.isListening(path) {
            throw StartupError("control socket \(path) is in use: is another labgate running with this config?")
        }
    }

    public func run() async throws {
        let router = Router(context: ControlContext.self)
        handlers.register(on: router)
        let path = path
        let logger = logger
        do {
            try await Listener.run(
                router: router,
                server: limits.server(counter: PeerConnectionCounter(limit: limits.perUser), logger: logger),
                configuration: .init(
                    address: .unixDomainSocket(path: path), serverName: "labgate",
                    availableConnectionsDelegate: MaximumAvailableConnections(limits.total, logger: Self.quiet(logger))),
                onServerRunning: { _ in
                    // Anyone on the host may connect; what they may do is decided by their groups.
                    chmod(path, 0o666)
                    logger.info("control socket listening on \(path)")
                },
                logger: Self.quiet(logger))
        } catch {
            await handlers.refusals.flush()
            throw error
        }
        // Refusals counted but not yet audited are written before the daemon stops.
        await handlers.refusals.flush()
        unlink(path)
    }

    /// Hummingbird logs each connection at info; the daemon's log keeps to its own events.
    private static func quiet(_ logger: Logger) -> Logger {
        var logger = logger
        logger.logLevel = max(logger.logLevel, .warning)
        return logger
    }
}
