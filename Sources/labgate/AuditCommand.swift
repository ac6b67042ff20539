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
        @Option(help: "Check the end of the record against these anchors: journal, journal:NAMESPACE or an anchor file (default: where the config's daemon anchors).")
        var anchors: String?
        @Flag(help: "Check each gateway's chains in the site store (the config's site_store), and this gateway's store against what the site store confirmed.")
        var site = false
        @OptionGroup var control: ControlOptions

        func run() async throws {
            if site {
                try await SiteVerify.run(config: control.config)
                return
            }
            var report: AuditVerifier.Report
            if let store {
                do {
                    let opened = try ReadingStore(readingExisting: store)
                    report = try await AuditVerifier.verify(opened)
                    let config = FileManager.default.fileExists(atPath: control.config) ? try? ConfigLoader.load(path: control.config) : nil
                    let sources = anchors.map { [AnchorSource(argument: $0)] } ?? AnchorSource.configured(config)
                    report.apply(try await AnchorCheck.check(opened, sources: sources))
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
                var uri = "/audit/verify"
                if let anchors {
                    uri += "?anchors=" + (anchors.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "/._-:"))) ?? anchors)
                }
                report = try await control.call("GET", uri, as: AuditVerifier.Report.self, render: ControlText.verify)
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
