import Testing
@testable import LabGate

@Suite("a reload keeps what the lots inside and the open deviations rely on")
struct ReloadGuardTests {
    private let lotInside = [(lot: "MSC-0042", device: "INC-01", spec: "msc-culture")]

    @Test("a config that keeps the lot's device, spec and channels passes; one with more devices too")
    func unchangedPasses() {
        var next = incubatorConfig()
        #expect(ReloadGuard.problems(next: next, lotsInside: lotInside, open: []).isEmpty)
        next.devices.append(Device(id: "INC-02", kind: .incubator, bus: "sim", unit: 2, profile: "inc", every: .seconds(1)))
        #expect(ReloadGuard.problems(next: next, lotsInside: lotInside, open: []).isEmpty)
    }

    @Test("removing or renaming the lot's device is refused, naming the lot and what to do")
    func deviceRemoved() throws {
        var next = incubatorConfig()
        next.devices[0].id = "INC-1"
        let problems = ReloadGuard.problems(next: next, lotsInside: lotInside, open: [])
        let line = try #require(problems.first)
        #expect(problems.count == 1)
        #expect(line.contains("lot MSC-0042 is inside INC-01, which the new config no longer has"))
        #expect(line.contains("labgate lot end MSC-0042") && line.contains("labgate lot move MSC-0042"))
    }

    @Test("removing the lot's spec, or a channel its spec needs, is refused")
    func specOrChannelRemoved() throws {
        var noSpec = incubatorConfig()
        noSpec.specs["msc-culture-v2"] = noSpec.specs.removeValue(forKey: "msc-culture")
        noSpec.devices[0].spec = nil
        #expect(try #require(ReloadGuard.problems(next: noSpec, lotsInside: lotInside, open: []).first)
            .contains("carries spec msc-culture, which the new config no longer has"))

        var noChannel = incubatorConfig()
        noChannel.profiles["inc"]?.fields.removeAll { $0.channel == "co2" }
        #expect(try #require(ReloadGuard.problems(next: noChannel, lotsInside: lotInside, open: []).first)
            .contains("whose co2 the new config no longer measures on INC-01"))
    }

    @Test("removing the channel or device of a deviation still open is refused, naming the deviation; with no lot inside too")
    func openDeviation() throws {
        let open = [ReloadGuard.OpenDeviation(id: "DEV-2026-0007", device: "INC-01", channel: "co2")]
        var noChannel = incubatorConfig()
        noChannel.profiles["inc"]?.fields.removeAll { $0.channel == "co2" }
        noChannel.specs["msc-culture"]?.limits.removeValue(forKey: "co2")
        let line = try #require(ReloadGuard.problems(next: noChannel, lotsInside: [], open: open).first)
        #expect(line.contains("deviation DEV-2026-0007 is open on INC-01 co2") && line.contains("channel co2 of INC-01"))
        var noDevice = incubatorConfig()
        noDevice.devices = []
        #expect(try #require(ReloadGuard.problems(next: noDevice, lotsInside: [], open: open).first).contains("device INC-01"))
        #expect(ReloadGuard.problems(next: incubatorConfig(), lotsInside: [], open: open).isEmpty)
    }
}
