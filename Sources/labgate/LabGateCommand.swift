import ArgumentParser

@main
struct LabGateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "labgate",
        abstract: "Lab-device gateway: polls incubators, freezers and LN2 tanks over Modbus."
    )
}
