import ArgumentParser
import Foundation
import LabGate
import LabGateClient

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "The audit trail: verify its hash chain and the records it covers, or list it.",
        subcommands: [Verify.self, List.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the audit chain, reading seals, lots and deviations; name the first entry that does not match.")
        @Option(help: "Verify this store file directly (read-only), without the daemon.") var store: String?
        @OptionGroup var control: ControlOptions

        func run() async throws {
            let report: AuditVerifier.Report
            if let store {
                do {
                    report = try await AuditVerifier.verify(try ReadingStore(readingExisting: store))
                } catch {
                    printError("\(error)")
                    throw ExitCode(1)
                }
                if control.json {
                    FileHandle.standardOutput.write(ControlAPI.encode(report))
                } else {
                    print(ControlText.verify(report), terminator: "")
                }
            } else {
                report = try await control.call(
                    "GET", "/audit/verify", as: AuditVerifier.Report.self, render: ControlText.verify)
            }
            if !report.ok { throw ExitCode(4) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Audit entries, oldest first.")
        @Option(help: "Only entries since this UTC time (2026-11-24T08:00:00Z) or this long ago (10m, 2h).") var since: String?
        @Option(help: "Only entries about this object: an id (MSC-AT-0042, DEV-2026-0001) or a full name (\"lot MSC-AT-0042\").") var object: String?
        @Option(help: "Only the last N entries.") var last: Int?
        @OptionGroup var control: ControlOptions

        func run() async throws {
            var query: [String] = []
            if let since {
                let date: Date
                if let ago = DurationText.parse(since) {
                    date = Date().addingTimeInterval(-ago.seconds)
                } else if let parsed = UTCTime.parse(since) {
                    date = parsed
                } else {
                    throw ValidationError("--since '\(since)' is neither a UTC time (2026-11-24T08:00:00Z) nor a duration (10m)")
                }
                query.append("since=\(UTCTime.format(date))")
            }
            if let object { query.append("object=\(segment(object))") }
            if let last { query.append("limit=\(last)") }
            let uri = "/audit" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
            try await control.call("GET", uri, as: [ControlAPI.AuditView].self, render: ControlText.audit)
        }
    }
}
