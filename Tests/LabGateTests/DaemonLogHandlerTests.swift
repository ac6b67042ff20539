import Foundation
import Logging
import Testing
@testable import LabGate

@Test("under systemd each log line starts with its syslog priority so the journal keeps the level")
func journalPrefixes() {
    let time = Date(timeIntervalSince1970: 1_800_000_000)
    let expected: [(Logger.Level, String)] = [
        (.critical, "<2>"), (.error, "<3>"), (.warning, "<4>"), (.notice, "<5>"), (.info, "<6>"), (.debug, "<7>"),
    ]
    for (level, prefix) in expected {
        #expect(DaemonLogHandler.render(level: level, message: "m", metadata: [:], journal: true, time: time) == "\(prefix)m")
    }
    #expect(DaemonLogHandler.render(level: .warning, message: "m", metadata: ["bus": "lan"], journal: false, time: time)
        == "2027-01-15T08:00:00.000Z WARNING m bus=lan")
}
