import Foundation
import Testing
@testable import LabGate
@testable import LabGateDaemon

@Suite struct ReadingEchoTests {
    @Test("a printed poll names the lots its readings were tagged with, and says nothing of lots when none is inside")
    func namesTheLots() {
        let echo = ReadingEcho(config: incubatorConfig())
        let time = Date(timeIntervalSince1970: 1_800_000_000)
        var reading = Reading(device: "INC-01", channel: "co2", time: time, value: 4.9, quality: .good)
        let empty = PollResult(device: "INC-01", time: time, instant: .now, readings: [reading], failure: nil)
        #expect(!echo.line(empty).contains("lots"))
        reading.lots = ["MSC-AT-0042", "MSC-AT-0043"]
        let tagged = PollResult(device: "INC-01", time: time, instant: .now, readings: [reading], failure: nil)
        #expect(echo.line(tagged).hasSuffix("co2=4.90 %  lots MSC-AT-0042, MSC-AT-0043"), "\(echo.line(tagged))")
    }
}
