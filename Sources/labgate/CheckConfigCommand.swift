import ArgumentParser
import LabGate
import LabGateClient

struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration; errors are printed as FILE:LINE:COL: message.")

    @Argument(help: "Configuration file.")
    var file: String

    func run() throws {
        let config = try loadConfig(file)
        print(ConfigSummary.render(config))
    }
}
