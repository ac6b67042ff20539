import Foundation
import Glibc
import Hummingbird
import LabGate
import Testing

/// A webhook receiver on loopback: records each POST's JSON body per path, answers 500 on the
/// paths told to fail.
final class WebhookReceiver: Sendable {
    actor Log {
        var bodies: [String: [WebhookBody]] = [:]
        var raw: [String: [String]] = [:]
        func add(_ path: String, _ data: Data) {
            raw[path, default: []].append(String(decoding: data, as: UTF8.self))
            if let body = try? JSONDecoder().decode(WebhookBody.self, from: data) { bodies[path, default: []].append(body) }
        }
    }

    let port = freePort()
    let log = Log()
    private let task: Task<Void, any Error>

    init(failing: Set<String> = []) async throws {
        let router = Router()
        let log = log
        router.post("/:name") { request, context -> Response in
            let name = context.parameters.get("name") ?? ""
            let buffer = try await request.body.collect(upTo: 1 << 20)
            await log.add(name, Data(buffer.readableBytesView))
            return Response(status: failing.contains(name) ? .internalServerError : .ok)
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        task = Task { try await app.run() }
        let port = port
        try await eventually("webhook receiver on \(port)", timeout: .seconds(10)) { canConnect(port: port) }
    }

    deinit { task.cancel() }

    func bodies(_ path: String) async -> [WebhookBody] { await log.bodies[path] ?? [] }
    func raw(_ path: String) async -> [String] { await log.raw[path] ?? [] }

    func url(_ path: String) -> String { "http://127.0.0.1:\(port)/\(path)" }
}

/// An incubator served by the simulator, and a freezer on a bus nobody answers (TEST-NET-1, which
/// the simulator does not serve: unreachable within a second), with `notify` rules around them.
func notifyConfig(_ notify: String, http: Bool = false) -> String {
    let group = primaryGroup()
    return """
        site: e2e-notify
        store: FOLDER/labgate.sqlite
        alerts: FOLDER
        control: FOLDER/control.sock
        roles: { operators: [\(group)], qa: [\(group)] }
        # The signature tests sign; these act unsigned.
        signatures: { require: [] }
        buses:
          - id: lan
            tcp: { host: 127.0.0.1, port: PORT }
          - id: dead
            tcp: { host: 192.0.2.1, port: 502 }
        devices:
          - { id: INC-02, kind: incubator, bus: lan, unit: 2, profile: inc, every: 200ms, timeout: 300ms, retries: 0 }
          - { id: FRZ-09, kind: freezer, bus: dead, unit: 9, profile: inc, every: 200ms, timeout: 300ms, retries: 0, unreachable_after: 2 }
        profiles:
          inc:
            temperature: { table: input, address: 0, type: float32, order: CDAB, unit: "°C" }
            co2: { table: input, address: 2, type: int16, scale: 0.01, unit: "%", invalid: [-32768] }
        specs:
          tight:
            co2: { low: 4.5, high: 5.5, delay: 1s }
        \(http ? "http: { port: HTTPPORT }\n" : "")notify:
        \(notify)
        """
}

extension Harness {
    func alarms(all: Bool = false) async throws -> [ControlAPI.AlarmView] {
        let result = try await cli(["alarms", "list", "--json", "--config", configPath] + (all ? ["--all"] : []))
        return try JSONDecoder().decode([ControlAPI.AlarmView].self, from: Data(result.out.utf8))
    }
}

@Suite("notifications with the real daemon", .serialized)
struct NotifyEndToEndTests {
    @Test("a deviation makes a webhook POST with its fields; it repeats until the deviation is acknowledged; deviations show lists who was notified when")
    func deviationWebhookUntilAcknowledged() async throws {
        let hooks = try await WebhookReceiver()
        let harness = try Harness(
            config: notifyConfig("""
                  channels:
                    - { id: hook, webhook: { url: \(hooks.url("hook")), timeout: 2s } }
                  rules:
                    - { when: [deviation_opened], notify: [hook], repeat: 2s }
                """),
            scenario: "events:\n  - { at: 150s, device: INC-02, event: door_open, for: 60s }\n")
        try await harness.startSim(speed: 30)
        try harness.startDaemon()
        try await harness.waitForSocket()
        try await harness.control(["lot", "start", "MSC-AT-0042", "--device", "INC-02", "--spec", "tight"])

        try await eventually("the first POST", timeout: .seconds(60)) { await !hooks.bodies("hook").isEmpty }
        let first = try #require(await hooks.bodies("hook").first)
        let opened = try #require(try harness.deviationEvents().first { $0.event == .deviationOpened })
        let event = try #require(first.events.first)
        #expect(first.site == "e2e-notify" && first.notifyChannel == "hook" && first.events.count == 1)
        #expect(event.event == "deviation_opened" && event.reason == "raised")
        #expect(event.device == "INC-02" && event.channel == "co2" && event.unit == "%")
        #expect(event.deviation == opened.deviation && event.lots == ["MSC-AT-0042"])
        #expect(event.limit == AlertEvent.Limit(name: "low", value: 4.5, source: "spec tight"))
        #expect(event.value == opened.value && event.since != nil && event.alarm?.hasPrefix("ALM-") == true)
        let deviation = try #require(opened.deviation)
        #expect(event.acknowledge == "labgate deviations ack \(deviation) --comment \"...\"")
        #expect(first.subject.hasPrefix("WARNING INC-02 co2") || first.subject.hasPrefix("CRITICAL INC-02 co2"))
        #expect(first.subject.contains("below low 4.50 %") && first.subject.contains("lots MSC-AT-0042"))
        #expect(first.text.contains("To acknowledge: labgate deviations ack \(deviation)"))

        try await eventually("a repeat", timeout: .seconds(20), asking: {
            await hooks.bodies("hook").contains { $0.events.first?.reason == "repeat" }
        })
        try await harness.control(["deviations", "ack", deviation, "--comment", "door closed"])
        let alarm = try #require(event.alarm)
        try await eventually("the alarm acknowledged with the deviation", timeout: .seconds(10), asking: {
            try await harness.alarms(all: true).first { $0.id == alarm }?.state == "acknowledged"
        })
        let count = await hooks.bodies("hook").count
        // Three repeat periods without one: the repeats stopped (a message in flight at the
        // acknowledgement may still land in the first).
        try await Task.sleep(for: .seconds(6))
        #expect(await hooks.bodies("hook").count <= count + 1)

        let show = try await harness.control(["deviations", "show", deviation])
        #expect(show.out.contains("notified:"))
        #expect(show.out.contains("hook  webhook \(hooks.url("hook"))  raised  delivered"))
        #expect(show.out.contains("acknowledged: "))
        try await harness.stopDaemon()
        let stored = try await ReadingStore(readingExisting: harness.storePath).pool.read { db in
            try NotificationLog.attempts(naming: deviation, db: db)
        }
        #expect(stored.count >= 2 && stored.allSatisfy { $0.result == .delivered && $0.channel == "hook" })
        let audit = try await harness.cli(["audit", "verify", "--store", harness.storePath])
        #expect(audit.status == 0, "\(audit.out)\(audit.err)")
        // The lot report: per deviation, when who was notified, and when it was acknowledged.
        let html = harness.folder + "/report.html"
        let report = try await harness.cli(["report", "lot", "MSC-AT-0042", "--store", harness.storePath, "--output", html])
        #expect(report.status == 0, "\(report.err)")
        let page = try String(contentsOfFile: html, encoding: .utf8)
        let firstTime = UTCTime.format(stored[0].time)
        #expect(page.contains("<th>notified</th><td>\(firstTime)"), "the first notification's time")
        #expect(page.contains("hook (webhook \(hooks.url("hook"))): raised, delivered"))
        #expect(page.contains("<th>acknowledged</th><td>"))
    }

    @Test("an unreachable device is an alarm: listed, repeated, stopped by alarms ack; notify test sends and records a test message")
    func alarmAckAndTest() async throws {
        let hooks = try await WebhookReceiver()
        let harness = try Harness(config: notifyConfig("""
              channels:
                - { id: hook, webhook: { url: \(hooks.url("hook")), timeout: 2s } }
              rules:
                - { when: [device_unreachable, bus_down], notify: [hook], repeat: 2s }
            """))
        try await harness.startSim(speed: 30)
        try harness.startDaemon()
        try await harness.waitForSocket()
        try await eventually("an alarm for FRZ-09", timeout: .seconds(30), asking: {
            try await harness.alarms().contains { $0.device == "FRZ-09" || $0.device == "dead" }
        })
        try await eventually("a repeat", timeout: .seconds(20), asking: {
            await hooks.bodies("hook").contains { $0.events.contains { $0.reason == "repeat" } }
        })
        let alarms = try await harness.alarms()
        let list = try await harness.control(["alarms", "list"])
        for alarm in alarms { #expect(list.out.contains(alarm.id)) }
        for alarm in alarms {
            let acked = try await harness.control(["alarms", "ack", alarm.id, "--comment", "cable replugged"])
            #expect(acked.out.contains("acknowledged") && acked.out.contains("cable replugged"))
        }
        let again = try await harness.cli(["alarms", "ack", alarms[0].id, "--comment", "twice", "--config", harness.configPath])
        #expect(again.status == 1 && again.err.contains("already acknowledged"))
        #expect(try await harness.alarms().isEmpty)
        let count = await hooks.bodies("hook").count
        try await Task.sleep(for: .seconds(6))
        #expect(await hooks.bodies("hook").count <= count + 1)

        let test = try await harness.control(["notify", "test", "hook"])
        #expect(test.out.contains("hook  webhook") && test.out.contains("test") && test.out.contains("delivered"))
        let tests = await hooks.bodies("hook").filter { $0.events.first?.reason == "test" }
        #expect(tests.count == 1 && tests.first?.events.first?.event == "notification_test")
        let unknown = try await harness.cli(["notify", "test", "nope", "--config", harness.configPath])
        #expect(unknown.status == 1 && unknown.err.contains("known: hook"))

        try await harness.stopDaemon()
        let entries = try await harness.cli(["audit", "verify", "--store", harness.storePath])
        #expect(entries.status == 0, "\(entries.out)\(entries.err)")
        let events = try harness.alertEvents()
        #expect(events.filter { $0.event == .alarmAcknowledged }.count == alarms.count)
    }

    @Test("a webhook answering 500 is retried, then raised as notification_failed and routed to the other channel; status and /metrics show it")
    func failingChannel() async throws {
        let hooks = try await WebhookReceiver(failing: ["broken"])
        let httpPort = freePort()
        let harness = try Harness(config: notifyConfig("""
              channels:
                - { id: broken, webhook: { url: \(hooks.url("broken")), timeout: 2s } }
                - { id: good, webhook: { url: \(hooks.url("good")), timeout: 2s } }
              rules:
                - { when: [device_unreachable], notify: [broken, good] }
              retries: 1
            """, http: true).replacingOccurrences(of: "HTTPPORT", with: String(httpPort)))
        try await harness.startSim(speed: 30)
        try harness.startDaemon()
        try await harness.waitForSocket()
        try await eventually("notification_failed in the alert log", timeout: .seconds(40)) {
            try harness.alertEvents().contains { $0.event == .notificationFailed && $0.channel == "broken" }
        }
        #expect(await hooks.raw("broken").count == 2, "one attempt and one retry")
        try await eventually("the good channel hears of it", timeout: .seconds(10), asking: {
            await hooks.bodies("good").contains { $0.events.contains { $0.event == "notification_failed" && $0.channel == "broken" } }
        })
        let status = try await harness.cli(["status", "--config", harness.configPath])
        let brokenLine = status.out.split(separator: "\n").first { $0.contains("broken") && $0.contains("webhook") }
        #expect(brokenLine?.contains("last success never") == true, "\(status.out)")
        #expect(brokenLine?.contains("FAILING: POST \(hooks.url("broken")): 500") == true, "\(status.out)")
        let goodLine = status.out.split(separator: "\n").first { $0.contains("good") && $0.contains("webhook") }
        #expect(goodLine?.contains("last failure never") == true, "\(status.out)")
        let metrics = try #require(httpGet(port: httpPort, path: "/metrics"))
        #expect(metrics.body.contains("labgate_notify_last_failure_timestamp_seconds{notify_channel=\"broken\"} 1"))
        #expect(metrics.body.contains("labgate_notify_attempts_total{notify_channel=\"broken\",result=\"failed\"} 1"))
        try await harness.stopDaemon()
    }

    @Test("a pending escalation survives kill -9: the restarted daemon sends it for the same alarm, on time")
    func escalationSurvivesKill() async throws {
        let hooks = try await WebhookReceiver()
        let harness = try Harness(config: notifyConfig("""
              channels:
                - { id: first, webhook: { url: \(hooks.url("first")), timeout: 2s } }
                - { id: second, webhook: { url: \(hooks.url("second")), timeout: 2s } }
              rules:
                - when: [device_unreachable]
                  notify: [first]
                  escalate: [{ after: 8s, notify: [second] }]
            """))
        try await harness.startSim(speed: 30)
        try harness.startDaemon()
        try await harness.waitForSocket()
        try await eventually("the first message", timeout: .seconds(30)) { await !hooks.bodies("first").isEmpty }
        let alarm = try #require(await hooks.bodies("first").first?.events.first?.alarm)
        let store = try ReadingStore(readingExisting: harness.storePath)
        try await eventually("the alarm in the store", timeout: .seconds(10), asking: {
            try await AlarmBook.list(store, all: true).contains { $0.id == alarm }
        })
        let raised = try #require(try await AlarmBook.list(store, all: true).first { $0.id == alarm }?.raisedDate)
        harness.daemon?.kill(SIGKILL)
        _ = try await harness.daemon?.wait(timeout: .seconds(10))
        #expect(await hooks.bodies("second").isEmpty)
        try harness.startDaemon()
        try await eventually("the escalation", timeout: .seconds(30)) { await !hooks.bodies("second").isEmpty }
        let escalation = try #require(await hooks.bodies("second").first?.events.first)
        #expect(escalation.reason == "escalation" && escalation.alarm == alarm)
        let sentText = await hooks.bodies("second").first?.sent ?? ""
        let sent = try #require(UTCTime.parse(sentText))
        #expect(sent.timeIntervalSince(raised) >= 8 && sent.timeIntervalSince(raised) < 12, "due at raised + 8 s")
        // The device still unreachable after the restart is the same alarm, not a new one.
        #expect(try await harness.alarms().filter { $0.device == "FRZ-09" }.map(\.id) == [alarm])
        try await harness.stopDaemon()
    }
}
