import Foundation
import LabGate
import Testing

/// Numbers too large to represent are config errors at their place, never a crash: Int64(1e23)
/// traps, and `every: 99999999999999999999s` once killed check-config with SIGILL.
@Suite struct ConfigNumberTests {
    typealias F = ConfigFixtures

    @Test("a duration too long to represent is an error at FILE:LINE:COL, not a crash")
    func hugeDuration() {
        #expect(F.messages(F.base(replacing: "every: 2s", with: "every: 99999999999999999999s")) == [
            "lab.yaml:13:12: device INC-01: every 99999999999999999999s is above the maximum 36500d"
        ])
        #expect(F.messages(F.base(replacing: "delay: 10m", with: "delay: 1e400h")) == [
            "lab.yaml:31:50: spec msc-culture, temperature: bad duration '1e400h' (use e.g. 500ms, 10s, 2m, 1h)"
        ])
    }

    @Test("durations past 100 years, infinite or with digits of other scripts are refused by the parser")
    func parserBounds() {
        #expect(DurationText.parseChecked("36500d") == .success(DurationText.longest))
        #expect(DurationText.parseChecked("36501d") == .failure(.tooLong))
        #expect(DurationText.parseChecked(String(repeating: "9", count: 400) + "s") == .failure(.tooLong))
        #expect(DurationText.parseChecked("٣s") == .failure(.notADuration))
        #expect(DurationText.parse("1h30m") == .seconds(5400))
    }

    @Test("an integer past the machine's range is an error, not a crash")
    func hugeInteger() {
        #expect(F.messages(F.base(replacing: "unit: 2", with: "unit: 99999999999999999999")) == [
            "lab.yaml:20:11: device FRZ-01: unit 99999999999999999999 out of range"
        ])
    }
}
