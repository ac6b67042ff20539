import ArgumentParser
import Foundation
import LabGate
import LabGateClient

struct PortsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ports", abstract: "List serial adapters found through libudev, with their stable names.")

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        let adapters = SerialAdapters.list()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(adapters), as: UTF8.self))
            return
        }
        if !SerialAdapters.udevIsRunning {
            printError("note: udev is not running here (a container?): no /dev/serial links; name adapters by device path")
        }
        print(PortsTable.render(adapters), terminator: "")
    }
}
