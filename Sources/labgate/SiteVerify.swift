import ArgumentParser
import Foundation
import LabGate
import LabGateClient
import Logging
import SiteStore

/// `labgate audit verify --site`: SiteChainCheck against the config's site store, printed; exit 4
/// when anything does not match.
enum SiteVerify {
    static func run(config path: String) async throws {
        let config = try loadConfig(path)
        guard let settings = config.siteStore, let gateway = config.gateway else {
            printError("\(path) has no site_store (and gateway): nothing to verify at the site")
            throw ExitCode(1)
        }
        let store = FileManager.default.fileExists(atPath: config.store) ? try? ReadingStore(readingExisting: config.store) : nil
        let logger = Logger(label: "labgate") { _ in SwiftLogNoOpLogHandler() }
        let report: SiteChainCheck.Report
        do {
            let connection = try await settings.connect(logger: logger)
            defer { Task { try? await connection.close() } }
            report = try await SiteChainCheck.verify(connection, gateway: gateway, store: store, logger: logger)
        } catch {
            printError("site store \(settings.url): \(String(reflecting: error))")
            throw ExitCode(1)
        }
        var lines = ["site store \(settings.url)"]
        for entry in report.gateways {
            lines.append("  gateway \(entry.id): \(entry.audit) audit entries, \(entry.seals) seals\(entry.id == gateway ? " (this gateway)" : "")")
        }
        if report.ok {
            lines.append("OK: every gateway's chains hold at the site" + (store == nil ? "" : ", and \(config.store) holds all the site confirmed"))
        } else {
            lines += report.findings.map { "FAIL: \($0)" }
        }
        print(lines.map(TerminalText.escape).joined(separator: "\n"))
        if !report.ok { throw ExitCode(4) }
    }
}
