import Foundation
import Glibc
import Hummingbird
import HummingbirdCore
import LabGate
import Logging
import NIOCore
import ServiceLifecycle
import SiteStore

/// The optional HTTP listener (`http:` in the config): `/metrics` for Prometheus, `/status` as
/// JSON, and `/` the wall-screen page (with `/fragment`, the part of it the page refreshes). It
/// only reads: nothing here changes lots or deviations, so it needs no identity (the control
/// socket does that); the admin decides who can reach it by the address it binds. Requests must
/// name the listener in their Host header (`HostCheck`: DNS rebinding); idle connections close
/// and connections are capped (`ConnectionLimits`).
public struct HTTPServer: Service {
    /// What the routes read, all of it held by the daemon for its whole life.
    public struct Sources: Sendable {
        public var config: Config
        public var counters: PollCounters
        /// The latest readings the pipeline accepted, which the status views show.
        public var readings: LatestReadings
        public var metrics: DaemonMetrics
        public var registry: LotRegistry
        public var deviations: DeviationBook
        public var progress: DeviationProgress
        public var writer: ReadingWriter
        public var started: Date
        /// The site store's picture of the site (`/site`), when the config names a site store.
        public var siteStatus: (@Sendable () async throws -> SiteStatus)? = nil
        public var silentAfter: Duration = .seconds(300)

        public init(
            config: Config, counters: PollCounters, readings: LatestReadings, metrics: DaemonMetrics,
            registry: LotRegistry, deviations: DeviationBook, progress: DeviationProgress, writer: ReadingWriter,
            started: Date
        ) {
            self.config = config
            self.counters = counters
            self.readings = readings
            self.metrics = metrics
            self.registry = registry
            self.deviations = deviations
            self.progress = progress
            self.writer = writer
            self.started = started
        }
    }

    let settings: HTTPSettings
    let sources: Sources
    let limits: ConnectionLimits
    let logger: Logger

    /// TCP peers have no uid: the cap is on all connections together (a wall screen, Prometheus
    /// and a few browsers need a handful).
    public static let defaultLimits = ConnectionLimits(idleTimeout: .seconds(10), perUser: 0, total: 128)

    public init(settings: HTTPSettings, sources: Sources, limits: ConnectionLimits = HTTPServer.defaultLimits, logger: Logger) {
        self.settings = settings
        self.sources = sources
        self.limits = limits
        self.logger = logger
    }

    public func run() async throws {
        let router = Router()
        router.add(middleware: HostCheck(settings: settings))
        register(on: router)
        let settings = settings
        let logger = logger
        do {
            try await Listener.run(
                router: router,
                server: limits.server(counter: nil, logger: logger),
                configuration: .init(
                    address: .hostname(settings.address, port: settings.port), serverName: "labgate",
                    availableConnectionsDelegate: MaximumAvailableConnections(limits.total, logger: Self.quiet(logger))),
                onServerRunning: { _ in
                    logger.notice("status page on http://\(settings.endpoint)/ (JSON /status, Prometheus /metrics)")
                    if !settings.isLoopback {
                        logger.warning(
                            "the HTTP listener on \(settings.endpoint) is reachable from the network: anyone who can reach it sees devices, lots and deviations (no authentication)")
                    }
                },
                logger: Self.quiet(logger))
        } catch {
            throw StartupError("HTTP listener cannot listen on \(settings.endpoint): \(error)")
        }
    }

    func register(on router: Router<BasicRequestContext>) {
        let sources = sources
        let logger = logger
        router.get("/metrics") { _, _ -> Response in
            let now = Date()
            let deviations: [DeviationRecord]
            do {
                deviations = try await sources.deviations.list(openOnly: true)
            } catch {
                logger.error("metrics: cannot read deviations from \(sources.config.store): \(error)")
                return Self.text(.internalServerError, "cannot read deviations: \(error)\n", type: "text/plain; charset=utf-8")
            }
            let text = sources.metrics.render(
                now: now, deviations: deviations, backlog: await sources.writer.backlog(),
                statuses: sources.counters.snapshot(at: now))
            return Self.text(.ok, text, type: "text/plain; version=0.0.4; charset=utf-8")
        }
        router.get("/status") { _, _ -> Response in
            await Self.withSnapshot(sources, logger: logger) { snapshot in
                Response(
                    status: .ok, headers: Self.headers("application/json"),
                    body: .init(byteBuffer: ByteBuffer(bytes: snapshot.json() + Data("\n".utf8))))
            }
        }
        router.get("/") { _, _ -> Response in
            await Self.withSnapshot(sources, logger: logger) { Self.text(.ok, StatusPage.render($0), type: "text/html; charset=utf-8") }
        }
        router.get("/site") { _, _ -> Response in
            guard let read = sources.siteStatus else {
                return Self.text(.notFound, "no site_store in the config: there is no site page\n", type: "text/plain; charset=utf-8")
            }
            do {
                let status = try await read()
                return Self.text(
                    .ok, SiteStatusPage.render(status, site: sources.config.site, silentAfter: sources.silentAfter, this: sources.config.gateway),
                    type: "text/html; charset=utf-8")
            } catch {
                logger.error("site page: cannot read the site store: \(error)")
                return Self.text(.serviceUnavailable, "cannot read the site store: \(error)\n", type: "text/plain; charset=utf-8")
            }
        }
        router.get("/fragment") { _, _ -> Response in
            await Self.withSnapshot(sources, logger: logger) { Self.text(.ok, StatusPage.fragment($0), type: "text/html; charset=utf-8") }
        }
    }

    /// A snapshot for the page and `/status`; without the deviations there is no honest picture,
    /// so a store that cannot be read gives 500 (the page then shows its data as stale).
    private static func withSnapshot(
        _ sources: Sources, logger: Logger, _ body: (StatusSnapshot) -> Response
    ) async -> Response {
        let now = Date()
        do {
            let deviations = try await sources.deviations.list(openOnly: true)
            let snapshot = StatusSnapshot.build(
                config: sources.config, statuses: sources.counters.snapshot(at: now), readings: sources.readings.snapshot(),
                lots: { sources.registry.inside(device: $0) }, deviations: deviations,
                progress: sources.progress, backlog: await sources.writer.backlog(), started: sources.started, now: now,
                forward: sources.metrics.forward.withLock { $0 }.map { StatusSnapshot.ForwardView($0.snapshot) })
            return body(snapshot)
        } catch {
            logger.error("status: cannot read deviations from \(sources.config.store): \(error)")
            return text(.internalServerError, "cannot read deviations: \(error)\n", type: "text/plain; charset=utf-8")
        }
    }

    private static func headers(_ type: String) -> HTTPFields {
        // A wall screen or a proxy must never show a cached picture as the present.
        [.contentType: type, .cacheControl: "no-store"]
    }

    private static func text(_ status: HTTPResponse.Status, _ text: String, type: String) -> Response {
        Response(status: status, headers: headers(type), body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// Fails when the address cannot be bound now (in use, not an address of this host, a
    /// privileged port), naming it, so that the daemon refuses to start instead of running blind.
    public static func checkAddress(_ settings: HTTPSettings) throws(StartupError) {
        var v4 = sockaddr_in()
        var v6 = sockaddr_in6()
        let family: Int32
        if inet_pton(AF_INET, settings.address, &v4.sin_addr) == 1 {
            family = AF_INET
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = UInt16(settings.port).bigEndian
        } else if inet_pton(AF_INET6, settings.address, &v6.sin6_addr) == 1 {
            family = AF_INET6
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = UInt16(settings.port).bigEndian
        } else {
            throw StartupError("HTTP listener: '\(settings.address)' is not an IP address")
        }
        let fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw StartupError("HTTP listener on \(settings.endpoint): cannot create a socket: \(describe(errno))") }
        defer { close(fd) }
        // As the listener itself will: an old connection in TIME_WAIT must not count as "in use".
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let result: Int32
        if family == AF_INET {
            result = withUnsafePointer(to: &v4) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        } else {
            result = withUnsafePointer(to: &v6) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
        guard result != 0 else { return }
        let code = errno
        switch code {
        case EADDRINUSE:
            throw StartupError(
                "HTTP listener cannot listen on \(settings.endpoint): the address is in use (another labgate, or another program: `ss -ltnp 'sport = :\(settings.port)'` names it)")
        case EADDRNOTAVAIL:
            throw StartupError("HTTP listener cannot listen on \(settings.endpoint): \(settings.address) is not an address of this host")
        case EACCES:
            throw StartupError("HTTP listener cannot listen on \(settings.endpoint): ports below 1024 need privileges labgate does not have")
        default:
            throw StartupError("HTTP listener cannot listen on \(settings.endpoint): \(describe(code))")
        }
    }

    private static func describe(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    /// Hummingbird logs each request at info; the daemon's log keeps to its own events.
    private static func quiet(_ logger: Logger) -> Logger {
        var logger = logger
        logger.logLevel = max(logger.logLevel, .warning)
        return logger
    }
}
