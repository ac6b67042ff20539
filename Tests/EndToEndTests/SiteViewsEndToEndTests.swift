import Foundation
import Glibc
import LabGate
import Testing
import TestSupport

/// One incubator polled every 500 ms, forwarding as `gateway`; others silent for 3 s are raised.
private func viewConfig(gateway: String, server: PostgreSQLServer, http: Int?) -> String {
    """
    site: e2e-site
    store: FOLDER/labgate.sqlite
    alerts: FOLDER
    gateway: \(gateway)
    site_store: { url: "\(server.url)", tls: disable, password_file: \(server.passwordFile), silent_after: 3s }
    \(http.map { "http: { port: \($0) }" } ?? "")
    buses:
      - id: lan
        tcp: { host: 127.0.0.1, port: PORT }
    devices:
      - { id: INC-\(gateway.uppercased()), kind: incubator, bus: lan, unit: 1, profile: inc, every: 500ms, timeout: 300ms, retries: 0 }
    profiles:
      inc:
        temperature: { table: input, address: 0, type: float32, order: CDAB, unit: "°C" }

    """
}

@Suite("Site-wide views with real gateways: status --site, the site page, gateway_silent", .serialized)
struct SiteViewsEndToEndTests {
    @Test("three gateways, one stopped: the other two raise gateway_silent naming it, status --site and the site page say SILENT, and it clears when it forwards again")
    func silentGateway() async throws {
        let server = try await PostgreSQLServer()
        let web = freePort()
        let gateways = try ["gw-a", "gw-b", "gw-c"].map { id in
            try Harness(config: viewConfig(gateway: id, server: server, http: id == "gw-a" ? web : nil))
        }
        for harness in gateways {
            try await harness.startSim()
            try harness.startDaemon(extra: [])
        }
        defer { for harness in gateways { harness.daemon?.kill(SIGKILL); harness.sim?.kill(SIGKILL) } }
        try await eventually("all three to forward", timeout: .seconds(60)) {
            (try? server.rows("SELECT count(*) FROM gateway WHERE last_forward > now() - interval '2 seconds'"))?.first?.first == "3"
        }
        try await eventually("every device's status at the site", timeout: .seconds(30)) {
            (try? server.rows("SELECT count(*) FROM device_status"))?.first?.first == "3"
        }
        let status = try await gateways[0].cli(["status", "--site", "--config", gateways[0].configPath])
        #expect(status.status == 0, "\(status.err)")
        #expect(status.out.contains("gateway gw-c  FORWARDING"))
        #expect(status.out.contains("INC-GW-B  OK"))

        // gw-c stops (its daemon, SIGTERM): after 3 s without a forward, gw-a and gw-b raise it.
        let stopped = gateways[2]
        stopped.daemon?.kill(SIGTERM)
        _ = try await stopped.daemon?.wait(timeout: .seconds(30))
        for harness in gateways.prefix(2) {
            try await eventually("gateway_silent gw-c in \(harness.alertsLog)", timeout: .seconds(30)) {
                (try? harness.alertEvents())?.contains { $0.event == .gatewaySilent && $0.device == "gw-c" } == true
            }
            #expect(harness.alertLines().contains { $0.contains("gateway_silent") && $0.contains("gw-c") })
        }
        // Only gw-c is silent, and it is raised once.
        #expect(try gateways[0].alertEvents().filter { $0.event == .gatewaySilent }.map(\.device) == ["gw-c"])
        let silent = try await gateways[1].cli(["status", "--site", "--config", gateways[1].configPath])
        #expect(silent.out.contains("gateway gw-c  SILENT"))
        #expect(silent.out.contains("gateway gw-a  FORWARDING"))
        let page = try #require(httpGet(port: web, path: "/site"))
        #expect(page.status == 200)
        #expect(page.body.contains("Gateway gw-c <span class=\"silent\">SILENT</span>"))
        #expect(page.body.contains("INC-GW-B"))

        // gw-c forwards again: cleared on the others.
        try stopped.startDaemon(extra: [])
        for harness in gateways.prefix(2) {
            try await eventually("gateway_forwarding gw-c in \(harness.alertsLog)", timeout: .seconds(60)) {
                (try? harness.alertEvents())?.contains { $0.event == .gatewayForwarding && $0.device == "gw-c" } == true
            }
        }
        for harness in gateways {
            harness.daemon?.kill(SIGTERM)
            _ = try await harness.daemon?.wait(timeout: .seconds(30))
        }
        try await server.stop()
    }
}
