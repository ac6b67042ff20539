import ArgumentParser
import Foundation
import LabGate
import LabGateClient
import Logging
import SiteStore

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each device's state, latest values, counters, reply times and last error.",
        discussion: """
            Reads the device status the daemon writes to the store every few seconds and when it \
            stops, so it works whether the daemon runs or not (a stale snapshot is pointed out).
            """)

    @OptionGroup var options: ConfigOption
    @Flag(help: "The whole site, from the site store (the config's site_store): every gateway with its last forward and lag, every device.")
    var site = false

    func run() async throws {
        let config = try loadConfig(options.config)
        if site { return try await siteStatus(config) }
        let store = try openStore(config.store)
        guard let statuses = try DeviceStatusStore.fetchAll(from: store) else {
            printError("\(config.store) has no device status yet: run this version of the daemon with this config first")
            throw ExitCode(1)
        }
        print(DeviceStatusReport.render(config: config, statuses: statuses, now: Date()), terminator: "")
        if let notify = NotifyStatusReport.render(config: config, store: store, now: Date()) {
            print("\n" + notify, terminator: "")
        }
        if let forward = ForwardStatusReport.render(config: config, store: store, now: Date()) {
            print("\n" + forward, terminator: "")
        }
    }

    func siteStatus(_ config: Config) async throws {
        guard let settings = config.siteStore else {
            printError("\(options.config) has no site_store: there is no site to show")
            throw ExitCode(1)
        }
        let logger = Logger(label: "labgate") { _ in SwiftLogNoOpLogHandler() }
        let status: SiteStatus
        do {
            let connection = try await settings.connect(logger: logger)
            do {
                status = try await SiteStatus.read(connection, logger: logger)
            } catch {
                try? await connection.close()
                throw error
            }
            try? await connection.close()
        } catch {
            printError("site store \(settings.url): \(String(reflecting: error))")
            throw ExitCode(1)
        }
        print(status.text(url: settings.url, silentAfter: settings.silentAfter, this: config.gateway), terminator: "")
    }
}
