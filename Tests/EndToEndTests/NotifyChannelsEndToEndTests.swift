import Foundation
import Glibc
import LabGate
import Testing

/// A real SMTP server on loopback (Python's standard `smtpd`, Debian 12's python3): each message
/// it accepts is parsed by Python's email package and written to FOLDER/N.json.
final class MailSink {
    static let script = """
        import asyncore, email, email.policy, json, signal, sys, warnings
        warnings.simplefilter("ignore")
        # The test runner's children may inherit SIGTERM ignored: stop on it all the same.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        import smtpd
        port, folder = int(sys.argv[1]), sys.argv[2]
        class Sink(smtpd.SMTPServer):
            count = 0
            def process_message(self, peer, mailfrom, rcpttos, data, **kw):
                Sink.count += 1
                message = email.message_from_bytes(data, policy=email.policy.default)
                record = {"from": mailfrom, "to": rcpttos, "subject": str(message["subject"]),
                          "auto_submitted": str(message["auto-submitted"]), "body": message.get_content()}
                with open(f"{folder}/{Sink.count}.json", "w") as out:
                    json.dump(record, out)
        Sink(("127.0.0.1", port), None, decode_data=False)
        print("ready", flush=True)
        asyncore.loop()
        """

    struct Mail: Decodable {
        var from: String
        var to: [String]
        var subject: String
        var auto_submitted: String
        var body: String
    }

    let port = freePort()
    let folder: TemporaryFolder
    private let process: ChildProcess

    init() async throws {
        folder = try TemporaryFolder("labgate-mail")
        let script = folder.file("sink.py")
        try Self.script.write(toFile: script, atomically: true, encoding: .utf8)
        process = try ChildProcess("/usr/bin/python3", [script, String(port), folder.path], folder: folder.path, name: "sink")
        let port = port
        try await eventually("the SMTP sink on \(port)", timeout: .seconds(10)) { canConnect(port: port) }
    }

    deinit { stop() }

    /// Ends the server (and waits for it), so no test leaves it running.
    func stop() {
        process.kill(SIGKILL)
        process.process.waitUntilExit()
    }

    func mails() -> [Mail] {
        (1...).lazy.map { self.folder.file("\($0).json") }.prefix { FileManager.default.fileExists(atPath: $0) }
            .compactMap { try? JSONDecoder().decode(Mail.self, from: Data(contentsOf: URL(fileURLWithPath: $0))) }
    }
}

/// Debian's prometheus-alertmanager on loopback, its own port, config and storage, no cluster.
final class AlertmanagerServer {
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
        let port = port
        try await eventually("Alertmanager ready", timeout: .seconds(30), interval: .milliseconds(100)) {
            httpGet(port: port, path: "/-/ready", timeout: 2)?.status == 200
        }
    }

    deinit { stop() }

    func stop() {
        process.kill(SIGTERM)
        process.process.waitUntilExit()
    }

    /// `GET /api/v2/alerts`: the alerts it holds that have not ended.
    func alerts() -> [[String: Any]] {
        guard let reply = httpGet(port: port, path: "/api/v2/alerts", timeout: 5), reply.status == 200,
            let list = try? JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [[String: Any]]
        else { return [] }
        return list
    }
}

@Suite("notification channels against real servers", .serialized)
struct NotifyChannelsEndToEndTests {
    @Test("an unreachable device reaches a real SMTP server as a mail that reads well on a phone")
    func email() async throws {
        let sink = try await MailSink()
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
        try await eventually("a mail", timeout: .seconds(30)) { !sink.mails().isEmpty }
        let mail = try #require(sink.mails().first)
        let alarm = try #require(try await harness.alarms().first { $0.device == "FRZ-09" })
        #expect(mail.from == "labgate@lab-host.example" && mail.to == ["oncall@site.example", "qa@site.example"])
        #expect(mail.subject == "CRITICAL FRZ-09 device unreachable", "\(mail.subject)")
        #expect(mail.auto_submitted == "auto-generated")
        #expect(mail.body.contains("CRITICAL device_unreachable (alarm \(alarm.id))"))
        #expect(mail.body.contains("since "))
        #expect(mail.body.contains("To acknowledge: labgate alarms ack \(alarm.id) --comment \"...\""))
        #expect(mail.body.contains("-- labgate at e2e-notify"))
        let test = try await harness.control(["notify", "test", "oncall-mail"])
        #expect(test.out.contains("delivered"))
        try await eventually("the test mail", timeout: .seconds(10)) { sink.mails().count == 2 }
        #expect(sink.mails().last?.subject.hasPrefix("INFO (test) labgate") == true, "\(sink.mails().last?.subject ?? "")")
        try await harness.stopDaemon()
    }

    @Test("Alertmanager lists the alarm with its labels while it is active, and no longer once it is acknowledged")
    func alertmanager() async throws {
        let manager = try await AlertmanagerServer()
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
