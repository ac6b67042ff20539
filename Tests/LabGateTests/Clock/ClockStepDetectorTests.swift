import Foundation
import Testing
@testable import LabGate

@Suite("wall-clock steps, found against the monotonic clock")
struct ClockStepDetectorTests {
    private let wall0: Int64 = 1_800_000_000_000
    private let mono0: Int64 = 50_000_000_000

    @Test("a step back or forward by an hour is found with the time that was due and the time read")
    func stepsFound() throws {
        var detector = ClockStepDetector()
        #expect(detector.look(wall: wall0, monotonic: mono0) == nil, "the first look has nothing to compare with")
        #expect(detector.look(wall: wall0 + 1000, monotonic: mono0 + 1_000_000_000) == nil)
        let stepBack = detector.look(wall: wall0 + 2000 - 3_600_000, monotonic: mono0 + 2_000_000_000)
        let back = try #require(stepBack)
        #expect(back.expected == wall0 + 2000 && back.read == wall0 + 2000 - 3_600_000 && back.step == -3_600_000)
        #expect(back.summary.hasPrefix("wall clock stepped back by 1h: it read "))
        #expect(detector.look(wall: wall0 + 3000 - 3_600_000, monotonic: mono0 + 3_000_000_000) == nil, "once per step")
        let stepForward = detector.look(wall: wall0 + 4000, monotonic: mono0 + 4_000_000_000)
        let forward = try #require(stepForward)
        #expect(forward.step == 3_600_000 && forward.summary.contains("forward by 1h"))
    }

    @Test("slewing and sampling jitter below the threshold are not steps")
    func smallDriftIgnored() {
        var detector = ClockStepDetector()
        _ = detector.look(wall: wall0, monotonic: mono0)
        #expect(detector.look(wall: wall0 + 1000 + 1500, monotonic: mono0 + 1_000_000_000) == nil)
        #expect(detector.look(wall: wall0 + 2000 + 1500 + 2001, monotonic: mono0 + 2_000_000_000) != nil)
    }

    @Test("audited as JSON with both times as UTC text, the step and the monotonic time, and read back")
    func auditJSON() throws {
        let step = ClockStep(expected: wall0, read: wall0 - 3_600_000, monotonic: mono0)
        let json = AuditJSON.encode(step)
        #expect(json.contains("\"expected\":\"2027-01-15T08:00:00.000Z\"") && json.contains("\"step_ms\":-3600000"))
        #expect(json.contains("\"read\":\"2027-01-15T07:00:00.000Z\"") && json.contains("\"monotonic_ns\":50000000000"))
        #expect(try AuditJSON.decode(ClockStep.self, json) == step)
    }
}
