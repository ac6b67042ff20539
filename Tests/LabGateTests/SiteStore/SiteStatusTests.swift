import Foundation
import LabGate
import Logging
import SiteStore
import Testing
import TestSupport

@Suite("The site's status from the site store, and gateway_silent", .serialized)
struct SiteStatusTests {
    @Test("every gateway with its last forward and lag, every device as its gateway forwarded it")
    func readsTheSite() async throws {
        let server = try await PostgreSQLServer()
        let connection = try await server.connect()
        try await SiteMigrator.migrate(connection, logger: Logger(label: "test"))
        let sql = """
            SELECT labgate_reading_months(now() - interval '1 day', now());
            INSERT INTO gateway (id, last_forward) VALUES ('gw-a', now() - interval '2 seconds'), ('gw-b', now() - interval '10 minutes');
            INSERT INTO forward_position VALUES ('gw-a', 'reading', 2), ('gw-b', 'reading', 1);
            INSERT INTO reading (gateway, seq, series, time, value, quality) VALUES
                ('gw-a', 1, 1, now() - interval '30 seconds', 1, 0), ('gw-a', 2, 1, now() - interval '20 seconds', 1, 0),
                ('gw-b', 1, 1, now() - interval '11 minutes', 1, 0);
            INSERT INTO device_status VALUES
                ('gw-a', 'INC-01', now(), '{"device":"INC-01","last_answer":1795000000000,"consecutive_failures":0,"polls_answered":12,"polls_failed":1}'),
                ('gw-b', 'FRZ-01', now(), '{"device":"FRZ-01","last_answer":null,"consecutive_failures":4,"polls_answered":0,"polls_failed":4,"last_error":"timeout"}');
            """
        #expect(try server.psql(sql).status == 0)
        let status = try await SiteStatus.read(connection, logger: Logger(label: "test"))
        #expect(status.gateways.map(\.id) == ["gw-a", "gw-b"])
        #expect(status.gateways[0].silentFor < 60 && status.gateways[1].silentFor >= 600)
        #expect((status.gateways[0].lagSeconds ?? 0) >= 19 && (status.gateways[0].lagSeconds ?? 0) < 60)
        #expect(status.gateways.map(\.readingsConfirmed) == [2, 1])
        #expect(status.gateways[0].devices.map(\.state) == ["OK"])
        #expect(status.gateways[1].devices.first?.state == "FAILING (4 polls)")
        #expect(status.gateways[1].devices.first?.lastError == "timeout")

        // gw-a judges gw-b silent once (5 min), never itself; gw-b forwarding again clears it.
        var silence = GatewaySilence(gateway: "gw-a", after: .seconds(300))
        let raised = silence.look(status)
        #expect(raised.map(\.event) == [.gatewaySilent])
        #expect(raised.first?.device == "gw-b")
        #expect(raised.first?.detail?.hasPrefix("gateway gw-b has not forwarded to the site store for 10m") == true)
        #expect(silence.look(status).isEmpty)
        #expect(try server.psql("UPDATE gateway SET last_forward = now() WHERE id = 'gw-b'").status == 0)
        let again = try await SiteStatus.read(connection, logger: Logger(label: "test"))
        #expect(silence.look(again).map { "\($0.event.rawValue) \($0.device)" } == ["gateway_forwarding gw-b"])
        try await connection.close()
        try await server.stop()
    }

    @Test("gateway_silent raises an alarm through the notify routes like any alert; gateway_forwarding recovers it")
    func routed() {
        let url = HTTPURL(text: "http://127.0.0.1:9/x", isTLS: false, host: "127.0.0.1", port: 9, path: "/x")
        var engine = NotifyEngine(settings: NotifySettings(
            channels: [NotifyChannel(id: "it", kind: .webhook(WebhookSettings(url: url)))],
            rules: [NotifyRule(when: [.gatewaySilent, .gatewayForwarding], notify: ["it"], until: .recovered)]))
        let t0 = Date(timeIntervalSince1970: 1_795_000_000)
        _ = engine.take(AlertEvent(time: t0, severity: .warning, event: .gatewaySilent, device: "gw-b", since: t0), now: t0)
        #expect(engine.openAlarms.map(\.event.event) == [.gatewaySilent])
        let sent = engine.tick(now: t0.addingTimeInterval(2)).compactMap { effect -> String? in
            if case let .send(notice) = effect { return notice.channel } else { return nil }
        }
        #expect(sent == ["it"])
        _ = engine.take(AlertEvent(time: t0, severity: .info, event: .gatewayForwarding, device: "gw-b"), now: t0.addingTimeInterval(60))
        #expect(engine.openAlarms.allSatisfy { $0.recoveredAt != nil })
    }
}
