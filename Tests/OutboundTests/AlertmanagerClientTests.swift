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
