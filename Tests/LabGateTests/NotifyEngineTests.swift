import Foundation
import LabGate
import Testing

/// The notification engine on a hand-driven clock: routing, repeats, escalation, what stops them,
/// gathering many events into one message, relays.
@Suite("Notify engine") struct NotifyEngineTests {
    static let url = HTTPURL(text: "http://127.0.0.1:9/x", isTLS: false, host: "127.0.0.1", port: 9, path: "/x")

    static func settings(repeat every: Duration? = .seconds(900), until: NotifyRule.Until = .acknowledged) -> NotifySettings {
        NotifySettings(
            channels: [
                NotifyChannel(id: "oncall", kind: .webhook(WebhookSettings(url: url))),
                NotifyChannel(id: "qa", kind: .webhook(WebhookSettings(url: url))),
                NotifyChannel(id: "beacon", kind: .relay(RelayOutput(device: "IO-01", target: .coil(0)))),
            ],
            rules: [
                NotifyRule(
                    when: [.deviationOpened, .deviceUnreachable, .excursionCritical], notify: ["oncall", "beacon"],
                    repeat: every, escalate: [.init(after: .seconds(1200), notify: ["qa"])], until: until),
                NotifyRule(when: [.deviationRecovered], notify: ["oncall"]),
            ])
    }

    let t0 = Date(timeIntervalSince1970: 1_795_000_000)

    func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

    static func deviation(_ id: String = "DEV-2026-0001", at time: Date) -> AlertEvent {
        AlertEvent(
            time: time, severity: .critical, event: .deviationOpened, device: "INC-01", channel: "co2", value: 7.2,
            unit: "%", limit: .init(name: "high", value: 5.5, source: "spec msc-culture"), since: time, deviation: id,
            lots: ["MSC-AT-0042"])
    }

    static func unreachable(_ device: String, at time: Date) -> AlertEvent {
        AlertEvent(time: time, severity: .critical, event: .deviceUnreachable, device: device, since: time)
    }

    /// The notices among effects, as (channel, reason of each item).
    static func sent(_ effects: [NotifyEngine.Effect]) -> [String: [Notice.Reason]] {
        var result: [String: [Notice.Reason]] = [:]
        for case .send(let notice) in effects { result[notice.channel, default: []] += notice.items.map(\.reason) }
        return result
    }

    static func relays(_ effects: [NotifyEngine.Effect]) -> [String: Bool] {
        var result: [String: Bool] = [:]
        for case .relay(let channel, let on) in effects { result[channel] = on }
        return result
    }

    /// Ticks every second from `from` to `to` (inclusive), collecting what is sent when.
    static func run(_ engine: inout NotifyEngine, from: Date, seconds: Int) -> [(second: Int, sent: [String: [Notice.Reason]])] {
        var log: [(Int, [String: [Notice.Reason]])] = []
        for second in 0...seconds {
            let sent = sent(engine.tick(now: from.addingTimeInterval(Double(second))))
            if !sent.isEmpty { log.append((second, sent)) }
        }
        return log
    }

    @Test("An alarm is sent at once, repeated every `repeat`, escalated after `after`, each to the channels reached")
    func repeatAndEscalate() {
        var engine = NotifyEngine(settings: Self.settings())
        let effects = engine.take(Self.deviation(at: t0), now: t0)
        #expect(Self.relays(effects) == ["beacon": true])
        let log = Self.run(&engine, from: t0, seconds: 3000)
        // Each due time plus the gathering window (1 s), in which other alarms' messages may join.
        #expect(log.map(\.second) == [1, 901, 1201, 1801, 2701])
        #expect(log[0].sent == ["oncall": [.raised]])
        #expect(log[1].sent == ["oncall": [.repeat]])
        #expect(log[2].sent == ["qa": [.escalation]])
        // From the escalation on, repeats reach the escalated channels too.
        #expect(log[3].sent == ["oncall": [.repeat], "qa": [.repeat]])
        #expect(engine.openAlarms.first?.repeatsSent == 3)
    }

    @Test("Acknowledging the deviation acknowledges its alarm: no more repeats, the relay drops")
    func deviationAckStops() throws {
        var engine = NotifyEngine(settings: Self.settings())
        _ = engine.take(Self.deviation(at: t0), now: t0)
        _ = Self.run(&engine, from: t0, seconds: 901)
        var ack = Self.deviation(at: at(1000))
        ack.event = .deviationAcknowledged
        ack.user = "alice"
        ack.detail = "door closed"
        let effects = engine.take(ack, now: at(1000))
        #expect(Self.relays(effects) == ["beacon": false])
        let saved = effects.compactMap { effect -> AlarmRecord? in
            if case .save(let alarm) = effect { return alarm } else { return nil }
        }
        #expect(saved.first?.ackedBy == "alice" && saved.first?.state == .acknowledged)
        #expect(Self.run(&engine, from: at(1000), seconds: 5000).isEmpty)
        #expect(engine.openAlarms.isEmpty)
    }

    @Test("An alarm that is not a deviation is acknowledged by its id; a deviation's alarm only through the deviation")
    func alarmAck() throws {
        var engine = NotifyEngine(settings: Self.settings())
        _ = engine.take(Self.unreachable("FRZ-01", at: t0), now: t0)
        _ = engine.take(Self.deviation(at: t0), now: t0)
        let alarms = engine.openAlarms
        let device = try #require(alarms.first { $0.deviation == nil })
        let deviation = try #require(alarms.first { $0.deviation != nil })
        #expect(throws: NotifyEngine.AckError.isDeviation(alarm: deviation.id, deviation: "DEV-2026-0001")) {
            try engine.acknowledge(deviation.id, user: "bob", comment: "seen", now: at(5))
        }
        let (record, _) = try engine.acknowledge(device.id, user: "bob", comment: "power restored", now: at(5))
        #expect(record.ackedBy == "bob" && record.ackComment == "power restored")
        #expect(throws: NotifyEngine.AckError.unknown(device.id)) {
            try engine.acknowledge(device.id, user: "bob", comment: "again", now: at(6))
        }
        // Acknowledged inside the gathering window: the message it was waiting for names only the other.
        let first = engine.tick(now: at(5))
        for case .send(let notice) in first { #expect(notice.items.map(\.alarm) == [deviation.id]) }
    }

    @Test("A record cut behind the daemon's back (record_tampered) raises an alarm that repeats until acknowledged")
    func tamperedRecordRaises() throws {
        var settings = Self.settings()
        settings.rules[0].when.append(.recordTampered)
        var engine = NotifyEngine(settings: settings)
        let tampered = AlertEvent(
            time: t0, severity: .critical, event: .recordTampered, device: "labgate",
            detail: "the store ends at seal 90; labgate wrote seal 100")
        _ = engine.take(tampered, now: t0)
        let alarm = try #require(engine.openAlarms.first)
        #expect(alarm.event.event == .recordTampered)
        #expect(Self.run(&engine, from: t0, seconds: 901).map(\.second) == [1, 901])
        _ = try engine.acknowledge(alarm.id, user: "qa-lead", comment: "restored from backup, QA informed", now: at(902))
        #expect(Self.run(&engine, from: at(902), seconds: 2000).isEmpty)
    }

    @Test("Recovery alone does not stop the repeats: a recovered, unacknowledged deviation still needs a person")
    func recoveryDoesNotStop() {
        var engine = NotifyEngine(settings: Self.settings())
        _ = engine.take(Self.deviation(at: t0), now: t0)
        #expect(Self.run(&engine, from: t0, seconds: 99).map(\.second) == [1])
        var recovered = Self.deviation(at: at(100))
        recovered.event = .deviationRecovered
        recovered.severity = .info
        let effects = engine.take(recovered, now: at(100))
        #expect(Self.relays(effects).isEmpty)  // still on
        let log = Self.run(&engine, from: at(100), seconds: 1000)
        // The recovery itself is routed (rule 2) as information; the repeat still comes, saying so.
        #expect(log.map(\.second) == [1, 801])
        #expect(log[0].sent == ["oncall": [.info]])
        #expect(log[1].sent == ["oncall": [.repeat]])
        #expect(engine.openAlarms.first?.recoveredAt == at(100).millisecondsSince1970)
    }

    @Test("until: recovered ends the repeats and drops the relay at recovery; the alarm stays to be acknowledged")
    func recoveryStopsWhenTheRuleSaysSo() {
        var engine = NotifyEngine(settings: Self.settings(until: .recovered))
        _ = engine.take(Self.unreachable("FRZ-01", at: t0), now: t0)
        let back = AlertEvent(time: at(100), severity: .info, event: .deviceBack, device: "FRZ-01")
        #expect(Self.relays(engine.take(back, now: at(100))) == ["beacon": false])
        #expect(Self.run(&engine, from: at(2), seconds: 5000).isEmpty)
        #expect(engine.openAlarms.map(\.state) == [.recovered])
    }

    @Test("A power cut: 30 devices unreachable within the gathering window make one message per channel")
    func manyEventsOneMessage() throws {
        var engine = NotifyEngine(settings: Self.settings())
        for index in 1...30 {
            let time = at(Double(index) * 0.02)
            _ = engine.take(Self.unreachable(String(format: "INC-%02d", index), at: time), now: time)
        }
        #expect(Self.sent(engine.tick(now: at(0.9))).isEmpty)
        let effects = engine.tick(now: at(1.1))
        let notices = effects.compactMap { effect -> Notice? in
            if case .send(let notice) = effect { return notice } else { return nil }
        }
        #expect(notices.count == 1)
        let notice = try #require(notices.first)
        #expect(notice.channel == "oncall" && notice.items.count == 30)
        let text = NoticeText(site: "unit-1")
        #expect(text.subject(notice) == "CRITICAL 30 events at unit-1: device_unreachable INC-01, INC-02, INC-03, INC-04 and 26 more")
        #expect(text.body(notice).contains("To acknowledge: labgate alarms ack ALM-"))
        #expect(engine.openAlarms.count == 30)
        // Their repeats fall due together and are gathered as well.
        let repeats = Self.run(&engine, from: at(899), seconds: 3)
        #expect(repeats.count == 1 && repeats[0].sent["oncall"]?.count == 30)
        #expect(repeats.first?.second == 3)  // due from 900.02 s (seen at 901 s), gathered until 902 s
    }

    @Test("The same condition raised again while its alarm stands (after a restart, say) is not a second alarm")
    func duplicateCondition() {
        var engine = NotifyEngine(settings: Self.settings())
        _ = engine.take(Self.unreachable("FRZ-01", at: t0), now: t0)
        _ = engine.take(Self.unreachable("FRZ-01", at: at(30)), now: at(30))
        #expect(engine.openAlarms.count == 1)
    }

    @Test("Restarted from stored alarms, the schedule goes on: a pending escalation fires, missed repeats make one message")
    func resumesFromStoredAlarms() {
        var before = NotifyEngine(settings: Self.settings())
        _ = before.take(Self.deviation(at: t0), now: t0)
        _ = Self.run(&before, from: t0, seconds: 10)
        let stored = before.openAlarms
        // Down from t0 + 10 s to t0 + 2000 s: the 900 s and 1800 s repeats and the 1200 s step were missed.
        var after = NotifyEngine(settings: Self.settings(), alarms: stored, highest: [:])
        let sent = Self.sent(after.tick(now: at(2000)) + after.tick(now: at(2001)))
        // qa hears of it once, as the escalation it was due.
        #expect(sent == ["oncall": [.repeat], "qa": [.escalation]])
        #expect(after.openAlarms.first?.repeatsSent == 2 && after.openAlarms.first?.stepsReached == 1)
        // New alarms do not reuse its id.
        _ = after.take(Self.unreachable("FRZ-01", at: at(2002)), now: at(2002))
        #expect(Set(after.openAlarms.map(\.id)).count == 2)
    }

    @Test("notification_failed with no rule of its own goes to the other channels of the rules naming the failing one")
    func failedChannelRoutedToTheOthers() {
        var engine = NotifyEngine(settings: Self.settings())
        let failed = AlertEvent(
            time: t0, severity: .critical, event: .notificationFailed, device: "labgate", channel: "oncall",
            detail: "HTTP 500")
        let effects = engine.take(failed, now: t0)
        #expect(Self.relays(effects) == ["beacon": true])
        #expect(Self.sent(engine.tick(now: at(1))) == ["qa": [.raised]])
        #expect(engine.openAlarms.first?.notify == ["beacon", "qa"])
    }
}
