import ArgumentParser
import Foundation
import LabGate
import LabGateClient

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each device's state, latest values, counters, reply times and last error.",
        discussion: """
            Reads the device status the daemon writes to the store every few seconds and when it \
            stops, so it works whether the daemon runs or not (a stale snapshot is pointed out).
            """)

    @OptionGroup var options: ConfigOption

    func run() throws {
        let config = try loadConfig(options.config)
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
}
