import Foundation
import LabGate
import LabGateDaemon
import Testing

/// A wall screen's worth: two incubators with lots (INC-02's door left open, out of spec with an
/// open deviation), a freezer on its equipment limits, and an incubator that does not answer.
private func wallConfig(web: Int) -> String {
    """
    site: e2e-wall
    store: FOLDER/labgate.sqlite
    alerts: FOLDER
    control: FOLDER/control.sock
    roles: { operators: [\(primaryGroup())], qa: [\(primaryGroup())] }
    http: { port: \(web), refresh: 1s }
    buses:
      - id: lan
        tcp: { host: 127.0.0.1, port: PORT }
    devices:
      - { id: INC-01, kind: incubator, bus: lan, unit: 1, profile: inc, every: 500ms, timeout: 300ms, retries: 0 }
      - { id: INC-02, kind: incubator, bus: lan, unit: 2, profile: inc, every: 500ms, timeout: 300ms, retries: 0 }
      - { id: INC-03, kind: incubator, bus: lan, unit: 4, profile: inc, every: 500ms, timeout: 300ms, retries: 0 }
      - id: FRZ-01
        kind: freezer
        bus: lan
        unit: 3
        profile: frz
        every: 500ms
        limits:
          temperature: { high: -70.0, delay: 30s, critical_high: -60.0 }
    profiles:
      inc:
        temperature: { table: input, address: 0, type: float32, order: ABCD, unit: "°C" }
        co2: { table: input, address: 2, type: int16, scale: 0.01, unit: "%", invalid: [-32768] }
        rh: { table: input, address: 3, type: uint16, scale: 0.1, unit: "%", invalid: [65535] }
      frz:
        temperature: { table: input, address: 0, type: int16, scale: 0.1, unit: "°C", invalid: [-32768] }
    specs:
      msc-culture:
        temperature: { low: 36.0, high: 38.0, delay: 2s, critical_high: 39.0 }
        co2: { low: 4.5, high: 5.5, delay: 2s }
    """
}

private let scenario = """
    events:
      - { at: 0s, device: INC-03, event: silent, for: 1h }
      - { at: 20s, device: INC-02, event: door_open, for: 1h }
    """

@Suite("the status page in a browser", .serialized)
struct StatusPageBrowserTests {
    @Test("headless Chromium shows the wall screen, keeps it fresh from the daemon, and greys it when data stops")
    func statusPageInBrowser() async throws {
        let browser = try Browser.installed()
        let web = freePort()
        let harness = try Harness(config: wallConfig(web: web), scenario: scenario)
        try await harness.startSim(speed: 10)
        try harness.startDaemon(extra: [])
        try await harness.waitForSocket()
        try await harness.control(["lot", "start", "MSC-AT-0041", "--device", "INC-01", "--spec", "msc-culture"])
        try await harness.control(["lot", "start", "MSC-AT-0042", "--device", "INC-02", "--spec", "msc-culture"])
        try await eventually("INC-02's deviation on /status", timeout: .seconds(60)) {
            guard let body = httpGet(port: web, path: "/status")?.body,
                let status = try? StatusSnapshot.decode(Data(body.utf8))
            else { return false }
            return status.deviations.contains { $0.device == "INC-02" }
                && status.devices.first { $0.id == "FRZ-01" }?.condition == .inSpec
        }
        let url = "http://127.0.0.1:\(web)/"

        let png = harness.folder + "/status-page.png"
        try await browser.screenshot(url, to: png, width: 1600, height: 900)
        let size = try #require(pngSize(png), "a PNG screenshot")
        #expect(size.width == 1600 && size.height == 900)
        try keepScreenshot(png, as: "status-page.png")

        // The page's own script, run by the browser for a few refresh periods against the daemon:
        // the tiles are replaced from /fragment and nothing is stale.
        let live = try await browser.dumpDOM(url, budgetMilliseconds: 4000)
        #expect(live.contains("id=\"device-INC-02\""))
        #expect(live.contains("<article class=\"tile out_of_spec\" id=\"device-INC-02\">"))
        #expect(live.contains("<article class=\"tile in_spec\" id=\"device-INC-01\">"))
        #expect(live.contains("<article class=\"tile fault\" id=\"device-INC-03\">"))
        #expect(live.contains("MSC-AT-0042"))
        #expect(live.contains("id=\"offline\" class=\"offline\" hidden"), "no stale banner while the daemon answers")

        // The same page with no daemon behind it (a copy opened from disk, every fetch fails):
        // after three periods it must say that its data is old.
        let page = try #require(httpGet(port: web, path: "/")?.body)
        let copy = harness.folder + "/status-page.html"
        try page.write(toFile: copy, atomically: true, encoding: .utf8)
        let cut = try await browser.dumpDOM("file://" + copy, budgetMilliseconds: 6000)
        #expect(cut.contains("NO DATA FROM LABGATE FOR"))
        #expect(!cut.contains("id=\"offline\" class=\"offline\" hidden"), "the banner shows")
        #expect(cut.contains("class=\"stale\""), "the page goes grey")
        try await harness.stopDaemon()
    }
}
