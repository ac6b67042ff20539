import Foundation
import Logging
import Testing
@testable import LabGate
@testable import LabGateClient
@testable import LabGateDaemon

private typealias F = ConfigFixtures

@Suite("config: the http listener")
struct HTTPConfigTests {
    @Test("absent: no listener")
    func absent() throws {
        #expect(try ConfigLoader.parse(yaml: F.base, file: "lab.yaml").http == nil)
    }

    @Test("only a port: loopback 127.0.0.1 and a 5 s page refresh")
    func portOnly() throws {
        let config = try ConfigLoader.parse(yaml: F.base + "http: { port: 9417 }\n", file: "lab.yaml")
        let http = try #require(config.http)
        #expect(http == HTTPSettings(address: "127.0.0.1", port: 9417, refresh: .seconds(5)))
        #expect(http.isLoopback)
        #expect(http.endpoint == "127.0.0.1:9417")
    }

    @Test("an address other than loopback is taken when written, and known as such")
    func explicitAddress() throws {
        let any = try ConfigLoader.parse(yaml: F.base + "http: { port: 80, address: 0.0.0.0, refresh: 10s }\n", file: "lab.yaml")
        #expect(any.http == HTTPSettings(address: "0.0.0.0", port: 80, refresh: .seconds(10)))
        #expect(any.http?.isLoopback == false)
        #expect(ConfigSummary.render(any).contains("http    http://0.0.0.0:80/  (REACHABLE FROM THE NETWORK, no authentication)"))
        let v6 = try ConfigLoader.parse(yaml: F.base + "http: { port: 9417, address: \"::1\" }\n", file: "lab.yaml")
        #expect(v6.http?.isLoopback == true)
        #expect(v6.http?.endpoint == "[::1]:9417")
        #expect(HTTPSettings(address: "127.0.0.53", port: 1).isLoopback)
        #expect(!HTTPSettings(address: "192.0.2.10", port: 1).isLoopback)
    }

    @Test("bad values are reported at their place")
    func errors() {
        #expect(F.messages(F.base + "http: { port: 70000 }\n") == [
            "lab.yaml:33:15: http: port 70000 out of range 1..65535"
        ])
        #expect(F.messages(F.base + "http: { port: web }\n") == [
            "lab.yaml:33:15: http: expected a number for port, got 'web'"
        ])
        #expect(F.messages(F.base + "http: { address: 127.0.0.1 }\n") == [
            "lab.yaml:33:7: http: missing key 'port'"
        ])
        #expect(F.messages(F.base + "http: { port: 9417, address: labhost.local }\n") == [
            "lab.yaml:33:30: http: address must be an IP address (e.g. 127.0.0.1, ::1, 0.0.0.0), got 'labhost.local'"
        ])
        #expect(F.messages(F.base + "http: { port: 9417, refresh: 100ms }\n") == [
            "lab.yaml:33:30: http: refresh 100ms is below the minimum 1s"
        ])
        #expect(F.messages(F.base + "http: { port: 9417, listen: all }\n") == [
            "lab.yaml:33:21: http: unknown key 'listen' (expected one of: port, address, refresh, names)"
        ])
        #expect(F.messages(F.base + "http: 9417\n") == [
            "lab.yaml:33:7: http: expected a mapping for http, got '9417'"
        ])
    }

    @Test("a reload may not move the listener (refused with the reason) but may change the refresh")
    func reload() throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/lab.yaml"
        try (F.base + "http: { port: 9417 }\n").write(toFile: path, atomically: true, encoding: .utf8)
        let running = try ConfigLoader.load(path: path)
        let reload = ConfigReload(running: running, alerts: try AlertLog(folder: folder.path), logger: .init(label: "test"), audit: { _, _, _ in })

        try (F.base + "http: { port: 9417, refresh: 20s }\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try reload.check(loading: path).get().http?.refresh == .seconds(20))

        try (F.base + "http: { port: 9418 }\n").write(toFile: path, atomically: true, encoding: .utf8)
        guard case let .failure(refusal) = reload.check(loading: path) else {
            Issue.record("a moved listener was accepted")
            return
        }
        #expect(refusal.lines == ["\(path): http (127.0.0.1:9417 -> 127.0.0.1:9418) cannot change on reload: restart labgate to move them"])

        try F.base.write(toFile: path, atomically: true, encoding: .utf8)
        guard case let .failure(removed) = reload.check(loading: path) else {
            Issue.record("removing the listener was accepted")
            return
        }
        #expect(removed.summary.contains("http (127.0.0.1:9417 -> none)"))
    }
}
