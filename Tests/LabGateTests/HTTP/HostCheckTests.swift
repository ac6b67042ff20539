import Testing
@testable import LabGate
@testable import LabGateDaemon

private typealias F = ConfigFixtures

@Suite("HTTP listener: the Host header (DNS rebinding)")
struct HostCheckTests {
    typealias Check = ListenerHost

    @Test("on loopback: the address, localhost and loopback literals are taken, with or without the port; other names are not")
    func loopback() {
        let settings = HTTPSettings(address: "127.0.0.1", port: 9417)
        for host in ["127.0.0.1:9417", "127.0.0.1", "localhost:9417", "LOCALHOST"] {
            #expect(Check.accepts(host, settings), "\(host)")
        }
        for host in ["evil.example", "evil.example:9417", "127.0.0.1:80", "labgate", "127.0.0.1.nip.io:9417", ""] {
            #expect(!Check.accepts(host, settings), "\(host)")
        }
    }

    @Test("configured names are taken; on a wildcard address any IP literal, which cannot be rebound")
    func namesAndWildcard() {
        let settings = HTTPSettings(address: "0.0.0.0", port: 80, names: ["wall.lab.example"])
        #expect(Check.accepts("wall.lab.example", settings))
        #expect(Check.accepts("WALL.lab.example:80", settings))
        #expect(Check.accepts("192.0.2.7", settings))
        #expect(!Check.accepts("localhost", settings), "localhost is not a name of a listener on the network")
        #expect(!Check.accepts("attacker.example", settings))
        let v6 = HTTPSettings(address: "::1", port: 9417)
        #expect(Check.accepts("[::1]:9417", v6))
        #expect(!Check.accepts("[::1]:9418", v6))
    }

    @Test("http: names is read as a list of host names; anything else is reported at its place")
    func config() throws {
        let config = try ConfigLoader.parse(yaml: F.base + "http: { port: 9417, names: [Wall.Lab.Example, labgate-01] }\n", file: "lab.yaml")
        #expect(config.http?.names == ["wall.lab.example", "labgate-01"])
        #expect(F.messages(F.base + "http: { port: 9417, names: [\"http://wall:80\"] }\n") == [
            "lab.yaml:33:29: http, names: 'http://wall:80' is not a host name (letters, digits, '-' and '.', e.g. wall.lab.example; no port or scheme)"
        ])
    }
}
