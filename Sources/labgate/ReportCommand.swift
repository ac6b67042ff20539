import ArgumentParser
import Foundation
import LabGate
import LabGateReport
import Logging
import SiteStore

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Reports for QA, read from the store file (the daemon need not run).",
        subcommands: [Lot.self])

    struct Lot: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Everything one lot lived through: placements, readings, excursions, gaps, deviations, audit, integrity.")

        enum Format: String, ExpressibleByArgument, CaseIterable {
            case html, csv, json
            case summaryCSV = "summary-csv"
        }

        @Argument(help: "Lot id.") var lot: String
        @Option(help: "Output format: html, csv (every reading), json (the report model) or summary-csv (the first page and the signatures).") var format: Format = .html
        @Option(help: "Write to this file instead of standard output.") var output: String?
        @Option(help: "Configuration file (store, units, poll intervals, spec limits).") var config: String?
        @Option(help: "Read this store file directly; without --config, poll intervals are inferred.") var store: String?
        @Option(help: "Check the end of the record against these anchors: journal, journal:NAMESPACE or an anchor file (default: where the config's daemon anchors).")
        var anchors: String?
        @Flag(help: "Read the site store (the config's site_store): the lot's whole record across every gateway that held it.")
        var site = false

        func run() async throws {
            if site { return try await runSite() }
            let config = try config.map(loadConfig) ?? (store == nil ? loadConfig("/etc/labgate/labgate.yaml") : nil)
            let path = store ?? config!.store
            // The lot's archived months are read with the store (`ArchiveViews`).
            let opened: ReadingStore
            do {
                opened = try LotReport.openStore(forLot: lot, path: path)
            } catch {
                printError(error.description)
                throw ExitCode(1)
            }
            var handle = FileHandle.standardOutput
            if let output {
                guard FileManager.default.createFile(atPath: output, contents: nil),
                    let file = FileHandle(forWritingAtPath: output)
                else {
                    printError("cannot write \(output)")
                    throw ExitCode(1)
                }
                handle = file
            }
            defer { if output != nil { try? handle.close() } }
            do {
                switch format {
                case .csv:
                    try LotReportCSV.write(lot: lot, store: opened, config: config) { handle.write($0) }
                case .json, .html, .summaryCSV:
                    let sources = anchors.map { [AnchorSource(argument: $0)] } ?? AnchorSource.configured(config)
                    let report = try await LotReport.gather(lot: lot, store: opened, config: config, anchors: sources)
                    switch format {
                    case .json: handle.write(report.json())
                    case .summaryCSV: handle.write(Data(report.summaryCSV().utf8))
                    default: handle.write(Data(report.html().utf8))
                    }
                    if !report.integrity.ok {
                        printError("integrity check failed: \(report.integrity.problems.first ?? "")")
                        throw ExitCode(4)
                    }
                }
            } catch let error as LotReport.NotFound {
                printError(error.description)
                throw ExitCode(1)
            }
        }

        /// The site report: gathered from PostgreSQL, written by the same renderers.
        func runSite() async throws {
            let path = config ?? "/etc/labgate/labgate.yaml"
            let config = try loadConfig(path)
            guard let settings = config.siteStore else {
                printError("\(path) has no site_store: nothing to report from at the site")
                throw ExitCode(1)
            }
            let logger = Logger(label: "labgate") { _ in SwiftLogNoOpLogHandler() }
            let source: SiteLotSource
            do {
                source = try await SiteLotSource.connect(settings, logger: logger)
            } catch {
                printError("site store \(settings.url): \(String(reflecting: error))")
                throw ExitCode(1)
            }
            var handle = FileHandle.standardOutput
            if let output {
                guard FileManager.default.createFile(atPath: output, contents: nil), let file = FileHandle(forWritingAtPath: output) else {
                    await source.close()
                    printError("cannot write \(output)")
                    throw ExitCode(1)
                }
                handle = file
            }
            var failed: String?
            do {
                switch format {
                case .csv:
                    try await LotReportCSV.write(lot: lot, site: source, config: config) { handle.write($0) }
                case .json, .html, .summaryCSV:
                    let report = try await LotReport.gather(lot: lot, site: source, config: config)
                    switch format {
                    case .json: handle.write(report.json())
                    case .summaryCSV: handle.write(Data(report.summaryCSV().utf8))
                    default: handle.write(Data(report.html().utf8))
                    }
                    if !report.integrity.ok { failed = report.integrity.problems.first ?? "" }
                    for note in report.gateways?.compactMap(\.incomplete) ?? [] { printError(note) }
                }
            } catch let error as LotReport.NotFound {
                await source.close()
                printError(error.description)
                throw ExitCode(1)
            } catch {
                await source.close()
                printError("site store \(settings.url): \(String(reflecting: error))")
                throw ExitCode(1)
            }
            await source.close()
            if output != nil { try? handle.close() }
            if let failed {
                printError("integrity check failed: \(failed)")
                throw ExitCode(4)
            }
        }
    }
}
