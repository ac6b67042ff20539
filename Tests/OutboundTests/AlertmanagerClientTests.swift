import Foundation
import Glibc
import Outbound
import Testing
import TestSupport

@Suite("Alertmanager client against Debian's prometheus-alertmanager on loopback", .serialized)
struct AlertmanagerClientTests {
    @Test("a posted alert is listed with its labels and annotations; posted again with endsAt now, it is no longer active")
    func postAndResolve() async throws {
        let alertmanager = try await Alertmanager()
        defer { alertmanager.stop() }
        let client = AlertmanagerClient(baseURL: "http://127.0.0.1:\(alertmanager.port)")
        let labels = [
            "alertname": "labgate_deviation_opened", "site": "msc-lab", "device": "INC-03", "channel": "co2",
            "severity": "critical", "deviation": "DEV-2026-0042", "lots": "L-0412,L-0413",
        ]
        let startsAt = Date().addingTimeInterval(-60)
        var alert = AlertmanagerAlert(
            labels: labels, annotations: ["summary": "CO₂ 7.9 % > 6.0 %"], startsAt: startsAt,
            generatorURL: "http://lab-host.example:8080/")
        try await client.post([alert])

        var listed: [[String: Any]] = []
        try await eventually("Alertmanager to list the alert", timeout: .seconds(10), interval: .milliseconds(100)) {
            listed = alertmanager.alerts()
            return listed.count == 1
        }
        #expect(listed[0]["labels"] as? [String: String] == labels)
        #expect(listed[0]["annotations"] as? [String: String] == ["summary": "CO₂ 7.9 % > 6.0 %"])
        #expect((listed[0]["status"] as? [String: Any])?["state"] as? String == "active")
        #expect(listed[0]["generatorURL"] as? String == "http://lab-host.example:8080/")
        let listedStart = try #require(listed[0]["startsAt"] as? String)
        #expect(abs(try Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(listedStart).timeIntervalSince(startsAt)) < 0.002)

        alert.endsAt = Date()
        try await client.post([alert])
        try await eventually("Alertmanager to list the alert as resolved", timeout: .seconds(10), interval: .milliseconds(100)) {
            alertmanager.alerts().isEmpty
        }
    }

    @Test("an alert Alertmanager refuses is an error with its status and reason")
    func refused() async throws {
        let alertmanager = try await Alertmanager()
        defer { alertmanager.stop() }
        let client = AlertmanagerClient(baseURL: "http://127.0.0.1:\(alertmanager.port)/")
        let error = try await #require(throws: PostError.self) {
            try await client.post([AlertmanagerAlert(labels: [:], startsAt: Date())])
        }
        #expect(error.status == 400)
        #expect(error.url == "http://127.0.0.1:\(alertmanager.port)/api/v2/alerts")
        #expect(!error.text.isEmpty)
    }
}

/// Debian's prometheus-alertmanager for one test: its own port, config and storage, no cluster.
final class Alertmanager {
    let port = freePort()
    let folder: TemporaryFolder
    private let process: ChildProcess

    init() async throws {
        folder = try TemporaryFolder("labgate-alertmanager")
        let config = folder.file("alertmanager.yml")
        try "route:\n  receiver: none\nreceivers:\n  - name: none\n".write(toFile: config, atomically: true, encoding: .utf8)
        process = try ChildProcess(
            "/usr/bin/prometheus-alertmanager",
            [
                "--config.file=\(config)", "--storage.path=\(folder.file("data"))",
                "--web.listen-address=127.0.0.1:\(port)", "--cluster.listen-address=",
            ],
            folder: folder.path, name: "alertmanager", mergingErrors: true)
        try await eventually("Alertmanager to be ready", timeout: .seconds(30), interval: .milliseconds(100)) { [process, port] in
            guard process.isRunning else { throw SetupFailed("alertmanager exited: \(process.stdout)") }
            return httpGet(port: port, path: "/-/ready", timeout: 2)?.status == 200
        }
    }

    deinit {
        stop()
    }

    /// SIGKILL: its storage is the test's temporary folder.
    func stop() {
        process.kill(SIGKILL)
        process.process.waitUntilExit()
    }

    /// GET /api/v2/alerts: the alerts it holds that are not resolved.
    func alerts() -> [[String: Any]] {
        guard let reply = httpGet(port: port, path: "/api/v2/alerts", timeout: 5), reply.status == 200,
            let list = try? JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [[String: Any]]
        else { return [] }
        return list
    }
}
