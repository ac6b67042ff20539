import ArgumentParser

@main
struct LabGateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "labgate",
        abstract: "Lab-device gateway: polls incubators, freezers and LN2 tanks over Modbus, stores and alerts.",
        subcommands: [
            RunCommand.self, SimCommand.self, CheckConfigCommand.self, StatusCommand.self, ReadingsCommand.self,
            AlertsCommand.self, PortsCommand.self, LotCommand.self, DeviationsCommand.self, AuditCommand.self,
            ReportCommand.self, AlarmsCommand.self, NotifyCommand.self, ArchiveCommand.self,
            WhoAmICommand.self,
        ]
    )
}

/// The config file option shared by the commands that read a site's store or logs.
struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "Configuration file.")
    var config: String = "/etc/labgate/labgate.yaml"
}
