import Foundation
import Glibc
import Logging
import Testing
@testable import LabGate
@testable import LabGateDaemon

@Suite("anchors: where the daemon writes them")
struct AnchorSinkTests {
    @Test("not under journald: the anchor file in the alerts folder; under journald (INVOCATION_ID, or JOURNAL_STREAM naming stderr): the journal, in its namespace; a configured file besides")
    func sinks() throws {
        let folder = try TemporaryFolder("anchors")
        var config = incubatorConfig(folder: folder.path)
        let logger = Logger(label: "test")
        #expect(AnchorWriter(config: config, logger: logger, environment: [:]).sources == [.file("\(config.alerts)/anchors.jsonl")])
        #expect(AnchorWriter(config: config, logger: logger, environment: ["INVOCATION_ID": "4c5a"]).sources == [.journal(namespace: nil)])
        #expect(AnchorWriter(config: config, logger: logger, environment: ["INVOCATION_ID": "4c5a", "LOG_NAMESPACE": "lab"]).sources
            == [.journal(namespace: "lab")])
        var status = stat()
        #expect(fstat(2, &status) == 0)
        let stream = "\(status.st_dev):\(status.st_ino)"
        #expect(JournalSender.runsUnderJournald(environment: ["JOURNAL_STREAM": stream]))
        #expect(!JournalSender.runsUnderJournald(environment: ["JOURNAL_STREAM": "1:1"]), "a stream inherited from elsewhere")
        config.anchors = folder.path + "/kept.jsonl"
        #expect(AnchorWriter(config: config, logger: logger, environment: ["INVOCATION_ID": "4c5a"]).sources
            == [.journal(namespace: nil), .file(folder.path + "/kept.jsonl")])
    }

    @Test("journal fields: KEY=value lines; a value with a newline in journald's binary form")
    func journalEncoding() {
        let bytes = JournalSender.encode([("LABGATE_ANCHOR", "1"), ("MESSAGE", "a\nb")])
        let expected = Array("LABGATE_ANCHOR=1\nMESSAGE\n".utf8) + [3, 0, 0, 0, 0, 0, 0, 0] + Array("a\nb\n".utf8)
        #expect(bytes == expected)
    }
}
