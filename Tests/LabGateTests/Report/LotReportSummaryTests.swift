import Foundation
import GRDB
import Testing
@testable import LabGate
@testable import LabGateReport

/// DEV-2023-0007 opened on INC-01 co2 (above 5.5 % from t0 + 20 s), naming LOT-1, as the engine
/// commits it.
func openCO2Deviation(_ store: ReadingStore) async throws -> DeviationBook {
    let deviations = DeviationBook(store: store, daemonUser: "labgate")
    let record = DeviationRecord(
        id: "DEV-2023-0007", kind: .excursion, device: "INC-01", channel: "co2", unit: "%",
        limit: .init(name: "high", value: 5.5, source: "spec msc-culture"), start: 1_700_000_020_000,
        opened: 1_700_000_030_000, valueAtOpening: 5.8, critical: false, end: nil, worst: 5.8, size: nil, lots: ["LOT-1"])
    try await deviations.commit([.opened(record)], state: "[]")
    return deviations
}

/// LOT-1 in INC-01 for 60 s (co2 out of spec for 10 of them), a deviation naming it that alice
/// acknowledged, and the writer to add readings later.
func signedLotStore(_ folder: TemporaryFolder) async throws -> (ReadingStore, Config, ReadingWriter) {
    let store = try ReadingStore(path: folder.path + "/store.sqlite")
    let config = incubatorConfig(folder: folder.path)
    let book = LotBook(store: store, registry: LotRegistry(), config: config)
    let t0 = Date(timeIntervalSince1970: 1_700_000_000)
    let started = try await book.start(lot: "LOT-1", device: "INC-01", spec: "msc-culture", note: "P3 flasks", user: "alice")
    let ended = try await book.end(lot: "LOT-1", note: nil, user: "alice")
    _ = try await book.correct(lot: "LOT-1", event: started.id, device: nil, spec: nil, at: t0, reason: "placed before the tablet synced", user: "alice")
    _ = try await book.correct(lot: "LOT-1", event: ended.id, device: nil, spec: nil, at: t0.addingTimeInterval(60), reason: "harvest time", user: "alice")
    let writer = ReadingWriter(store: store, batchSize: 10)
    for second in 0..<60 {
        let time = t0.addingTimeInterval(Double(second))
        try await writer.append([
            Reading(device: "INC-01", channel: "co2", time: time, value: (20..<30).contains(second) ? 5.8 : 5.0, quality: .good, lots: ["LOT-1"]),
            Reading(device: "INC-01", channel: "temperature", time: time, value: 37.0, quality: .good, lots: ["LOT-1"]),
        ])
    }
    try await writer.flush()
    let deviations = try await openCO2Deviation(store)
    // Signed, as with `signatures: { require: [ack] }` (the password check is SignerTests' business).
    _ = try await deviations.acknowledge(
        "DEV-2023-0007", user: "alice", comment: "door left open during feeding",
        signature: SignatureGrant(user: "alice", fullName: "Alice Smith", action: .ack, subject: .deviation("DEV-2023-0007")))
    return (store, config, writer)
}

@Suite("the lot report's first page, signatures and audit sentences")
struct LotReportSummaryTests {
    @Test("the first page tells the reviewer the lot, its placement, each channel's time in spec and completeness, the deviation and its state, the integrity and that it is not approved; the same facts in JSON and CSV")
    func firstPage() async throws {
        let folder = try TemporaryFolder()
        let (store, config, _) = try await signedLotStore(folder)
        let report = try await LotReport.gather(lot: "LOT-1", store: store, config: config, now: Date(timeIntervalSince1970: 1_700_000_500))
        let html = report.html()
        let page = try #require(html.range(of: "Summary for QA review"))
        let details = try #require(html.range(of: "<h2>INC-01 —"))
        #expect(page.lowerBound < details.lowerBound, "the summary comes first")
        let first = String(html[page.lowerBound..<details.lowerBound])
        #expect(first.contains("LOT-1: ended 2023-11-14T22:14:20.000Z"), "\(first)")
        #expect(first.contains("NOT APPROVED"))
        #expect(first.contains("2023-11-14T22:13:20.000Z") && first.contains("msc-culture"), "the placement")
        // co2 out of spec for 10 of 60 good readings; one reading a second over 60 s.
        #expect(first.contains("<td>co2 (%)</td><td>83.33 %</td><td>100.00 % (60 of 60)</td>"), "\(first)")
        #expect(first.contains("DEV-2023-0007") && first.contains(">acknowledged<") && first.contains("door left open during feeding"))
        #expect(first.contains("Integrity OK"))
        #expect(first.contains("page-break-after") || html.contains(".summary{page-break-after:always}"))

        let json = try JSONSerialization.jsonObject(with: report.json()) as? [String: Any]
        let summary = try #require(json?["summary"] as? [String: Any])
        #expect(summary["approval"] as? String == "not approved")
        #expect((summary["deviations"] as? [[String: Any]])?.first?["state"] as? String == "acknowledged")
        #expect(summary["integrityOK"] as? Bool == true)

        let csv = report.summaryCSV()
        #expect(csv.hasPrefix("section,subject,field,value\n"))
        #expect(csv.contains("lot,LOT-1,approval,not approved\n"))
        #expect(csv.contains("channel,INC-01 co2,time_in_spec_percent,83.33\n"))
        #expect(csv.contains("channel,INC-01 co2,completeness_percent,100.00\n"))
        #expect(csv.contains("deviation,DEV-2023-0007,state,acknowledged\n"))
        #expect(csv.contains("lot,LOT-1,integrity,ok\n"))
    }

    @Test("the audit section reads as sentences: who did what to which lot or deviation, and why")
    func auditSentences() async throws {
        let folder = try TemporaryFolder()
        let (store, config, _) = try await signedLotStore(folder)
        let report = try await LotReport.gather(lot: "LOT-1", store: store, config: config, now: Date(timeIntervalSince1970: 1_700_000_500))
        let html = report.html()
        let start = try #require(html.range(of: "Audit entries about the lot"))
        let audit = String(html[start.lowerBound...])
        #expect(audit.contains("alice acknowledged DEV-2023-0007: door left open during feeding"), "\(audit)")
        #expect(audit.contains("alice placed LOT-1 in INC-01 with spec msc-culture: P3 flasks"))
        #expect(audit.contains("alice took LOT-1 out of monitoring"))
        #expect(audit.contains("Alice Smith (alice) signed DEV-2023-0007: acknowledged"), "the signature right after the act")
        #expect(audit.contains("alice corrected action #1 of LOT-1 (took effect 2023-11-14T22:13:20.000Z): placed before the tablet synced"))
        #expect(audit.contains("DEV-2023-0007 opened: excursion on INC-01 co2 (high 5.50 %), lots LOT-1"))
        #expect(audit.contains("the field of INC-01 co2 was recorded: inc "))
        #expect(!audit.contains("deviation_acknowledged") && !audit.contains("lot_start") && !audit.contains("ackComment"), "no stored field names")
    }

    @Test("signatures show with printed name, UTC time and meaning; an approval stands until the record changes, a late reading supersedes it, and approving again makes it stand")
    func signaturesAndApproval() async throws {
        let folder = try TemporaryFolder()
        let (store, config, writer) = try await signedLotStore(folder)
        try await approve(store, lot: "LOT-1", user: "carol", fullName: "Carol Quinn")
        let now = Date(timeIntervalSince1970: 1_700_000_500)

        let approved = try await LotReport.gather(lot: "LOT-1", store: store, config: config, now: now)
        #expect(approved.approval?.state == .approved)
        #expect(approved.signatures.map(\.meaning) == ["acknowledged", "approved for batch release"])
        let html = approved.html()
        #expect(html.contains(">APPROVED<"))
        let section = String(html[try #require(html.range(of: "<h2>Signatures (2)</h2>")).lowerBound...])
        #expect(section.contains("<td>Alice Smith (alice)</td><td>20"), "printed name, then the UTC time")
        #expect(section.contains("<td>acknowledged</td><td>deviation DEV-2023-0007</td>"))
        #expect(section.contains("<td>Carol Quinn (carol)</td>") && section.contains("<td>approved for batch release</td><td>lot LOT-1</td>"))
        #expect(approved.summaryCSV().contains("signature,2,signed_by,Carol Quinn (carol)\n"))
        #expect(approved.summaryCSV().contains("signature,1,meaning,acknowledged\n"))
        let json = try JSONSerialization.jsonObject(with: approved.json()) as? [String: Any]
        #expect((json?["signatures"] as? [[String: Any]])?.last?["full_name"] as? String == "Carol Quinn")
        #expect(approved.integrity.ok, "the signed acknowledgement and the approval pass the integrity check: \(approved.integrity.problems)")
        #expect((json?["approval"] as? [String: Any])?["state"] as? String == "approved")

        // A reading stamped inside the placement, written after the approval (held back by a full disk, say).
        try await writer.append([
            Reading(device: "INC-01", channel: "co2", time: Date(timeIntervalSince1970: 1_700_000_045.5), value: 5.1, quality: .good, lots: ["LOT-1"]),
        ])
        try await writer.flush()
        let late = try await LotReport.gather(lot: "LOT-1", store: store, config: config, now: now)
        #expect(late.approval?.state == .superseded)
        #expect(late.approval?.changes == ["INC-01 co2: 1 reading(s) more"])
        #expect(late.html().contains(">SUPERSEDED<"))
        #expect(late.summaryCSV().contains("lot,LOT-1,approval,superseded\n"))

        try await approve(store, lot: "LOT-1", user: "carol", fullName: "Carol Quinn")
        let again = try await LotReport.gather(lot: "LOT-1", store: store, config: config, now: now)
        #expect(again.approval?.state == .approved)
        #expect(again.signatures.filter { $0.meaning == "approved for batch release" }.count == 2)
    }
}
