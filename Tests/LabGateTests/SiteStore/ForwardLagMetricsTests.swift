import Foundation
import LabGate
import Logging
import SiteStore
import Testing
import TestSupport
@testable import LabGateDaemon

@Suite("The forward lag on /metrics and in labgate status")
struct ForwardLagMetricsTests {
    @Test("with the site store unreachable, /metrics and the stored status show every stored reading as lag, not connected")
    func lagWhileUnreachable() async throws {
        let folder = try TemporaryFolder()
        let store = try ReadingStore(path: folder.file("store.sqlite"))
        let writer = ReadingWriter(store: store)
        try await writer.append(siteTestReadings(count: 120))
        try await writer.flush()
        let port = freePort()
        let settings = SiteStoreSettings(
            url: "postgres://labgate@127.0.0.1:\(port)/labgate", host: "127.0.0.1", port: port, user: "labgate", database: "labgate",
            tls: .disable)
        let state = ForwardState(gateway: "gw-a", url: settings.url)
        var options = Forwarder.Options()
        options.statusInterval = .milliseconds(100)
        options.backoff = (.milliseconds(100), .milliseconds(200))
        let forwarder = Forwarder(settings: settings, gateway: "gw-a", store: store, state: state, options: options, logger: Logger(label: "test"))
        let task = Task { await forwarder.forwardUntilCancelled() }
        defer { task.cancel() }
        let metrics = DaemonMetrics()
        metrics.forward.withLock { $0 = state }
        try await eventually("the lag on /metrics", timeout: .seconds(20)) {
            let text = metrics.render(now: Date(), deviations: [], backlog: .init(held: 0, oldest: nil), statuses: [:])
            return sample(text, "labgate_forward_lag_readings{gateway=\"gw-a\"}") == 120
                && sample(text, "labgate_forward_connected{gateway=\"gw-a\"}") == 0
        }
        try await eventually("the lag in the store for labgate status", timeout: .seconds(20)) {
            let status = try ForwardStatusStore.fetch(from: store)
            return status?.lagReadings == 120 && status?.connected == false && status?.lastError != nil
        }
    }
}
