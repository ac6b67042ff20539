import Foundation
import Glibc
import TestSupport
import Testing
@testable import LabGate
@testable import LabGateClient
@testable import LabGateDaemon

/// The payloads of docs/FORGED-TEXT.md: what a user might write into a comment, a note or an
/// impact statement to forge a record or a screen, and how each output shows it.
enum Payload {
    static let forgedLine = "seen\n2026-11-24T21:02:11.400Z INFO     deviation_closed    INC-01 co2 DEV-2026-0001 lots L1 by qa — no impact"
    static let carriageReturn = "seen\r2026-11-24T21:02:11.400Z INFO     deviation_closed    by qa"
    static let ansi = "seen \u{1B}[2J\u{1B}[1;32mALL CLEAR\u{1B}[0m"
    static let c1 = "seen \u{9B}2J\u{85}NEL"
    static let separators = "seen\u{2028}forged\u{2029}lines \u{202E}desrever"
    static let nul = "seen\u{0}\u{7F}\u{07}"
}

private let acknowledged = AlertEvent(
    time: Date(timeIntervalSince1970: 1_800_000_100), severity: .info, event: .deviationAcknowledged, device: "INC-01",
    channel: "co2", limit: .init(name: "low", value: 4.5, source: "spec tight"), deviation: "DEV-2027-0001", lots: ["L1"],
    user: "alice")

@Suite("user text cannot forge records or screens")
struct ForgedTextTests {
    @Test(
        "each payload stays on its own line with its control characters visible",
        arguments: [
            (Payload.forgedLine, #"seen\n2026-11-24T21:02:11.400Z INFO     deviation_closed"#),
            (Payload.carriageReturn, #"seen\r2026"#),
            (Payload.ansi, #"seen \e[2J\e[1;32mALL CLEAR\e[0m"#),
            (Payload.c1, #"seen \u{9B}2J\u{85}NEL"#),
            (Payload.separators, #"seen\u{2028}forged\u{2029}lines \u{202E}desrever"#),
            (Payload.nul, #"seen\x00\x7F\x07"#),
        ])
    func escaped(payload: String, shown: String) {
        #expect(TerminalText.escape(payload) == shown || TerminalText.escape(payload).hasPrefix(shown))
        var event = acknowledged
        event.detail = payload
        let line = AlertFormatter.line(event)
        #expect(line.unicodeScalars.allSatisfy { !TerminalText.needsEscape($0) }, "one clean line in alerts.log")
        #expect(line.contains(shown))
        #expect(!line.contains("\u{1B}"))
    }

    @Test("text without control characters is left as written (other scripts, symbols, quotes)")
    func plainTextUnchanged() {
        for text in ["CO₂ 5 % — ok", "Zellen geprüft, «gut»", "細胞 OK", #"path C:\temp "quoted""#] {
            #expect(TerminalText.escape(text) == text)
        }
    }

    @Test("every event name is whole in alerts.log, and names that fit keep the columns aligned")
    func eventNamesWhole() {
        for kind in AlertEvent.Kind.allCases {
            var event = acknowledged
            event.event = kind
            let line = AlertFormatter.line(event)
            #expect(line.contains(" \(kind.rawValue) "), "\(line)")
            if kind.rawValue.count < 19 {
                let column = line.index(line.startIndex, offsetBy: 24 + 1 + 8 + 1 + 19 + 1)
                #expect(line[column...].hasPrefix("INC-01"), "aligned: \(line)")
            }
        }
        #expect(AlertFormatter.line(acknowledged).contains("INFO     deviation_acknowledged INC-01 co2 DEV-2027-0001"))
    }

    @Test("deviations show, lot show and audit list print user text escaped: no forged line, no escape sequence")
    func cliOutputs() throws {
        let record = DeviationRecord(
            id: "DEV-2027-0001", kind: .excursion, device: "INC-01", channel: "co2", unit: "%",
            limit: .init(name: "low", value: 4.5, source: "spec tight"), start: 1_800_000_006_000, opened: 1_800_000_016_000,
            valueAtOpening: 4.3, critical: false, end: 1_800_000_026_000, worst: 4.3, size: nil, lots: ["L1"],
            ackedBy: "alice", ackedAt: 1_800_000_030_000, ackComment: Payload.forgedLine)
        var plain = record
        plain.ackComment = "seen"
        let shown = ControlText.deviation(ControlAPI.DeviationView(record))
        let reference = ControlText.deviation(ControlAPI.DeviationView(plain))
        #expect(shown.split(separator: "\n").count == reference.split(separator: "\n").count)
        #expect(!shown.split(separator: "\n").contains { $0.contains("deviation_closed") && !$0.contains("acknowledged:") })
        #expect(shown.contains(#"by alice — seen\n2026-11-24T21:02:11.400Z INFO     deviation_closed"#))

        let ansi = ControlText.deviation(ControlAPI.DeviationView({ var r = record; r.ackComment = Payload.ansi; return r }()))
        #expect(!ansi.contains("\u{1B}") && ansi.contains(#"\e[2J"#))

        let entry = AuditEntry(
            seq: 7, time: Date(timeIntervalSince1970: 1_800_000_100), user: "alice", action: "deviation_acknowledge",
            object: "deviation DEV-2027-0001", old: nil, new: #"{"comment":"x"}"#, reason: Payload.forgedLine, record: nil,
            prev: FieldDigest.zero, hash: FieldDigest.zero)
        let audit = ControlText.audit([ControlAPI.AuditView(entry)])
        #expect(audit.split(separator: "\n").count == 3, "entry, new, head: \(audit)")
        #expect(!audit.contains("\u{1B}"))
    }
}
