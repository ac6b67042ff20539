import Foundation
import Glibc
import LabGate
import Testing
import TestSupport

@Suite("notification channels against real servers", .serialized)
struct NotifyChannelsEndToEndTests {
    @Test("an unreachable device reaches a real SMTP server as a mail that reads well on a phone")
    func email() async throws {
        let sink = try await SMTPSink()
        defer { sink.stop() }
        let harness = try Harness(config: notifyConfig("""
              channels:
                - id: oncall-mail
                  email: { to: [oncall@site.example, qa@site.example], from: labgate@lab-host.example, smtp: { host: 127.0.0.1, port: \(sink.port) } }
              rules:
                - { when: [device_unreachable], notify: [oncall-mail] }
            """))
        try await harness.startSim(speed: 30)
        try harness.startDaemon()
        try await harness.waitForSocket()
        try await eventually("a mail", timeout: .seconds(30)) { !((try? sink.received()) ?? []).isEmpty }
        let mail = try #require(try sink.received().first)
        let alarm = try #require(try await harness.alarms().first { $0.device == "FRZ-09" })
        #expect(mail.mail_from == "labgate@lab-host.example" && mail.rcpt_tos == ["oncall@site.example", "qa@site.example"])
        #expect(mail.subject == "CRITICAL FRZ-09 device unreachable", "\(mail.subject)")
        #expect(mail.header("Auto-Submitted") == "auto-generated")
        #expect(mail.body.contains("CRITICAL device_unreachable (alarm \(alarm.id))"))
        #expect(mail.body.contains("since "))
        #expect(mail.body.contains("To acknowledge: labgate alarms ack \(alarm.id) --comment \"...\""))
        #expect(mail.body.contains("-- labgate at e2e-notify"))
        let test = try await harness.control(["notify", "test", "oncall-mail"])
        #expect(test.out.contains("delivered"))
        try await eventually("the test mail", timeout: .seconds(10)) { ((try? sink.received()) ?? []).count == 2 }
        let testSubject = try sink.received().last?.subject ?? ""
        #expect(testSubject.hasPrefix("INFO (test) labgate"), "\(testSubject)")
        try await harness.stopDaemon()
    }

    @Test("Alertmanager lists the alarm with its labels while it is active, and no longer once it is acknowledged")
    func alertmanager() async throws {
        let manager = try await Alertmanager()
        defer { manager.stop() }
        let harness = try Harness(config: notifyConfig("""
              channels:
                - { id: am, alertmanager: { url: "http://127.0.0.1:\(manager.port)" } }
              rules:
                - { when: [device_unreachable], notify: [am], repeat: 1h }
            """))
        try await harness.startSim(speed: 30)
        try harness.startDaemon()
        try await harness.waitForSocket()
        try await eventually("the alert in Alertmanager", timeout: .seconds(30), interval: .milliseconds(200)) {
            manager.alerts().contains { ($0["labels"] as? [String: String])?["device"] == "FRZ-09" }
        }
        let alarm = try #require(try await harness.alarms().first { $0.device == "FRZ-09" })
        let listed = try #require(manager.alerts().first { ($0["labels"] as? [String: String])?["device"] == "FRZ-09" })
        let labels = try #require(listed["labels"] as? [String: String])
        #expect(labels == [
            "alertname": "labgate_device_unreachable", "site": "e2e-notify", "device": "FRZ-09", "severity": "critical",
            "alarm": alarm.id,
        ])
        let annotations = try #require(listed["annotations"] as? [String: String])
        #expect(annotations["acknowledge"] == "labgate alarms ack \(alarm.id) --comment \"...\"")
        #expect(annotations["summary"] == "FRZ-09 device unreachable")
        try await harness.control(["alarms", "ack", alarm.id, "--comment", "freezer moved"])
        try await eventually("the alert resolved", timeout: .seconds(20), interval: .milliseconds(200)) {
            !manager.alerts().contains { ($0["labels"] as? [String: String])?["alarm"] == alarm.id }
        }
        try await harness.stopDaemon()
    }
}
