import Foundation
import Glibc
import LabGate
import Testing

@Suite("labgate report lot against the simulator", .serialized)
struct ReportEndToEndTests {
    @Test("a lot through a CO2 excursion: HTML, CSV and JSON reports; an edited reading fails the integrity statement")
    func lotReport() async throws {
        let harness = try Harness(
            config: lotConfig(), scenario: "events:\n  - { at: 150s, device: INC-02, event: door_open, for: 30s }\n")
        try await harness.startSim(speed: 30)
        try harness.startDaemon()
        try await harness.waitForSocket()
        try await harness.control(["lot", "start", "LOT-R", "--device", "INC-02", "--spec", "tight"])
        try await eventually("recovery", timeout: .seconds(60)) {
            try harness.deviationEvents().contains { $0.event == .deviationRecovered }
        }
        let id = try #require(try harness.deviationEvents().first?.deviation)
        try await harness.control(["deviations", "ack", id, "--comment", "door <left> open & feeding"])
        // While the daemon runs, the report reads the store directly.
        let live = try await harness.cli(["report", "lot", "LOT-R", "--format", "json", "--config", harness.configPath])
        #expect(live.status == 0, "\(live.err)")
        try await harness.stopDaemon()

        let html = try await harness.cli(["report", "lot", "LOT-R", "--config", harness.configPath, "--format", "html"])
        #expect(html.status == 0, "\(html.err)")
        #expect(html.out.hasPrefix("<!DOCTYPE html>"))
        #expect(!html.out.contains("http://") && !html.out.contains("https://") && !html.out.contains("src="))
        #expect(!html.out.contains("<link") && !html.out.contains("<script"))
        #expect(html.out.contains("Lot report: LOT-R"))
        #expect(html.out.contains("INC-02"))
        #expect(html.out.contains(id))
        #expect(html.out.contains("Integrity OK"))
        #expect(html.out.contains("<svg"))
        #expect(html.out.contains("door &lt;left&gt; open &amp; feeding"), "the ack comment, escaped")
        #expect(!html.out.contains("door <left>"))

        try await checkInBrowser(html.out, folder: harness.folder)

        let jsonPath = harness.folder + "/report.json"
        let json = try await harness.cli(["report", "lot", "LOT-R", "--config", harness.configPath, "--format", "json", "--output", jsonPath])
        #expect(json.status == 0, "\(json.err)")
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: jsonPath))) as? [String: Any]
        #expect(object?["lot"] as? String == "LOT-R")
        #expect((object?["integrity"] as? [String: Any])?["ok"] as? Bool == true)
        #expect(((object?["deviations"] as? [[String: Any]])?.first?["id"]) as? String == id)
        let placements = try #require(object?["placements"] as? [[String: Any]])
        #expect(placements.first?["device"] as? String == "INC-02")
        let co2 = try #require((placements.first?["channels"] as? [[String: Any]])?.first { $0["channel"] as? String == "co2" })
        #expect(((co2["excursions"] as? [Any])?.count ?? 0) >= 1, "the door opening is an excursion")
        let stats = try #require(co2["statistics"] as? [String: Any])
        #expect((stats["min"] as? Double ?? 9) < 4.5)
        #expect((stats["timeInSpec"] as? Double ?? 100) < 100)

        let csv = try await harness.cli(["report", "lot", "LOT-R", "--config", harness.configPath, "--format", "csv"])
        #expect(csv.status == 0, "\(csv.err)")
        let lines = csv.out.split(separator: "\n")
        #expect(lines.first == "time,device,channel,value,unit,quality,detail")
        let stored = try harness.readings(device: "INC-02").filter { $0.lots.contains("LOT-R") }
        #expect(lines.count - 1 == stored.count)
        #expect(lines.dropFirst().allSatisfy { $0.contains(",INC-02,") })
        // Without the config the store still says what its numbers mean: the daemon recorded
        // each series' field at its config load, so units and resolution are the same.
        let bare = try await harness.cli(["report", "lot", "LOT-R", "--store", harness.storePath, "--format", "csv"])
        #expect(bare.status == 0, "\(bare.err)")
        #expect(bare.out == csv.out)
        #expect(lines.dropFirst().allSatisfy { $0.contains(",co2,") ? $0.contains(",%,") : $0.contains(",°C,") })
        #expect(!csv.out.contains("00000000"), "values at their resolution, not a double's tail")

        let copy = harness.folder + "/tampered.sqlite"
        try FileManager.default.copyItem(atPath: harness.storePath, toPath: copy)
        let edit = try runCommand("sqlite3", [copy, "DROP TRIGGER reading_sealed_update; UPDATE reading SET value = value - 0.5 WHERE rowid = (SELECT MAX(r.rowid) FROM reading r JOIN series s ON s.id = r.series WHERE s.device = 'INC-02' AND r.value IS NOT NULL AND r.lot_set IS NOT NULL);"])
        #expect(edit.status == 0, "\(edit.err)")
        let tampered = try await harness.cli(["report", "lot", "LOT-R", "--store", copy, "--format", "html"])
        #expect(tampered.status == 4)
        #expect(tampered.out.contains("Integrity check FAILED"))
        #expect(tampered.out.contains("readings of INC-02 ") && tampered.out.contains("were changed: their digest does not match the seal"))
        #expect(!tampered.out.contains("Integrity OK"))
        #expect(tampered.err.contains("integrity check failed"))
    }

    /// What a QA reviewer does with the report: opens it in a browser and prints it to PDF.
    private func checkInBrowser(_ html: String, folder: String) async throws {
        let browser = try Browser.installed()
        let page = folder + "/report.html"
        try html.write(toFile: page, atomically: true, encoding: .utf8)
        let png = folder + "/report.png"
        try await browser.screenshot("file://" + page, to: png, width: 1200, height: 2400)
        let size = try #require(pngSize(png), "a PNG screenshot")
        #expect(size.width == 1200 && size.height == 2400)
        try keepScreenshot(png, as: "report.png")
        let pdf = folder + "/report.pdf"
        try await browser.printToPDF("file://" + page, to: pdf)
        let printed = try Data(contentsOf: URL(fileURLWithPath: pdf))
        #expect(printed.starts(with: Array("%PDF-".utf8)))
        let text = String(decoding: printed, as: UTF8.self)
        let pages = text.components(separatedBy: "/Type /Page").count - 1 - (text.components(separatedBy: "/Type /Pages").count - 1)
        #expect(pages >= 2, "the whole report, on several A4 pages")
        // Parsed by the browser, the charts survive whole: as many as written, the excursion shaded.
        let dom = try await browser.dumpDOM("file://" + page)
        #expect(dom.contains("Lot report: LOT-R"))
        #expect(dom.components(separatedBy: "<svg").count - 1 == html.components(separatedBy: "<svg").count - 1)
        #expect(dom.contains("<title>excursion "))
    }
}
