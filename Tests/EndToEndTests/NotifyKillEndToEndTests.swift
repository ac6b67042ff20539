import Foundation
import Glibc
import LabGate
import Testing

/// A deviation's alarm and its schedule against a daemon killed as soon as the first message is
/// out, and against a store whose deviation has no alarm at all.
@Suite("alarms survive kill -9 with their schedule", .serialized)
struct NotifyKillEndToEndTests {
    @Test("a deviation's alarm is stored before its first message: killed -9 the moment the message arrives, the restarted daemon escalates the same alarm on time")
    func alarmStoredBeforeFirstMessage() async throws {
        let hooks = try await WebhookReceiver()
        let harness = try Harness(
            config: notifyConfig("""
                  channels:
                    - { id: first, webhook: { url: \(hooks.url("first")), timeout: 2s } }
                    - { id: second, webhook: { url: \(hooks.url("second")), timeout: 2s } }
                  rules:
                    - when: [deviation_opened]
                      notify: [first]
                      escalate: [{ after: 8s, notify: [second] }]
                """),
            scenario: "events:\n  - { at: 150s, device: INC-02, event: door_open, for: 60s }\n")
        try await harness.startSim(speed: 30)
        try harness.startDaemon()
        try await harness.waitForSocket()
        try await harness.control(["lot", "start", "MSC-AT-0042", "--device", "INC-02", "--spec", "tight"])
        try await eventually("the first message", timeout: .seconds(60), interval: .milliseconds(2)) { await !hooks.bodies("first").isEmpty }
        harness.daemon?.kill(SIGKILL)
        let killed = Date()
        _ = try await harness.daemon?.wait(timeout: .seconds(10))
        let event = try #require(await hooks.bodies("first").first?.events.first)
        let alarm = try #require(event.alarm)
        let deviation = try #require(event.deviation)
        let stored = try #require(
            try await AlarmBook.list(ReadingStore(readingExisting: harness.storePath), all: true).first { $0.id == alarm },
            "the alarm the message named is in the store the killed daemon left")
        #expect(stored.deviation == deviation && stored.escalate.count == 1)

        try harness.startDaemon()
        try await eventually("the escalation", timeout: .seconds(30)) { await !hooks.bodies("second").isEmpty }
        let escalation = try #require(await hooks.bodies("second").first?.events.first)
        #expect(escalation.reason == "escalation" && escalation.alarm == alarm && escalation.deviation == deviation)
        let sent = try #require(UTCTime.parse(await hooks.bodies("second").first?.sent ?? ""))
        print("alarm raised \(UTCTime.format(stored.raisedDate)), killed \(String(format: "%.3f", killed.timeIntervalSince(stored.raisedDate))) s after, escalation sent at raised + \(String(format: "%.3f", sent.timeIntervalSince(stored.raisedDate))) s")
        #expect(sent.timeIntervalSince(stored.raisedDate) >= 8 && sent.timeIntervalSince(stored.raisedDate) < 12, "due at raised + 8 s")
        #expect(try await harness.alarms().filter { $0.deviation == deviation }.map(\.id) == [alarm], "the same alarm, not a second one")
        try await harness.stopDaemon()
        let audit = try await harness.cli(["audit", "verify", "--store", harness.storePath])
        #expect(audit.status == 0, "\(audit.out)\(audit.err)")
    }

    @Test("an unacknowledged deviation the store holds without an alarm raises its alarm at start, dated from its opening")
    func deviationWithoutAlarmRaisesItAtStart() async throws {
        let hooks = try await WebhookReceiver()
        let routed = """
              channels:
                - { id: hook, webhook: { url: \(hooks.url("hook")), timeout: 2s } }
              rules:
                - { when: [deviation_opened], notify: [hook], repeat: 1h }
            """
        // First without a rule for deviations: the deviation is stored, no alarm is.
        let harness = try Harness(
            config: notifyConfig(routed.replacingOccurrences(of: "[deviation_opened]", with: "[store_failing]")),
            scenario: "events:\n  - { at: 150s, device: INC-02, event: door_open, for: 60s }\n")
        try await harness.startSim(speed: 30)
        try harness.startDaemon()
        try await harness.waitForSocket()
        try await harness.control(["lot", "start", "MSC-AT-0042", "--device", "INC-02", "--spec", "tight"])
        try await eventually("a deviation", timeout: .seconds(60)) { try await !harness.deviations().isEmpty }
        try await harness.stopDaemon()
        let record = try #require(try await harness.deviations().first)
        #expect(try await AlarmBook.list(ReadingStore(readingExisting: harness.storePath), all: true).isEmpty)
        #expect(await hooks.bodies("hook").isEmpty)

        try notifyConfig(routed).replacingOccurrences(of: "PORT", with: String(harness.port))
            .replacingOccurrences(of: "FOLDER", with: harness.folder).write(toFile: harness.configPath, atomically: true, encoding: .utf8)
        try harness.startDaemon()
        try await harness.waitForSocket()
        try await eventually("the deviation's message", timeout: .seconds(20)) { await !hooks.bodies("hook").isEmpty }
        let event = try #require(await hooks.bodies("hook").first?.events.first)
        #expect(event.event == "deviation_opened" && event.reason == "raised" && event.deviation == record.id)
        let alarms = try await harness.alarms()
        #expect(alarms.count == 1 && alarms.first?.deviation == record.id && alarms.first?.id == event.alarm)
        let stored = try #require(try await AlarmBook.list(ReadingStore(readingExisting: harness.storePath), all: true).first)
        #expect(stored.raised == record.opened, "dated from the deviation's opening, so its repeats go on from there")
        try await harness.control(["deviations", "ack", record.id, "--comment", "seen"])
        try await eventually("the alarm acknowledged with the deviation", timeout: .seconds(10), asking: {
            try await harness.alarms().isEmpty
        })
        try await harness.stopDaemon()
    }
}
