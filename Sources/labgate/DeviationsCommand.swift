import ArgumentParser
import LabGate
import LabGateClient

struct DeviationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deviations", abstract: "Deviations: list, show, acknowledge (operators), close (QA).",
        subcommands: [List.self, Show.self, Ack.self, Close.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List deviations, oldest first.")
        @Flag(help: "Only deviations not yet closed.") var open = false
        @OptionGroup var control: ControlOptions

        func run() async throws {
            try await control.call(
                "GET", "/deviations\(open ? "?open=1" : "")", as: [ControlAPI.DeviationView].self,
                render: ControlText.deviations)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One deviation in full.")
        @Argument(help: "Deviation id, e.g. DEV-2026-0007.") var id: String
        @OptionGroup var control: ControlOptions

        func run() async throws {
            try await control.call(
                "GET", "/deviations/\(segment(id))", as: ControlAPI.DeviationView.self, render: ControlText.deviation)
        }
    }

    struct Ack: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Acknowledge a deviation (operators).")
        @Argument(help: "Deviation id.") var id: String
        @Option(help: "What was seen and done.") var comment: String
        @OptionGroup var control: ControlOptions

        func run() async throws {
            try await control.callSigned(
                "/deviations/\(segment(id))/ack", body: { ControlAPI.Acknowledge(comment: comment, password: $0) },
                as: ControlAPI.DeviationView.self, render: ControlText.deviation)
        }
    }

    struct Close: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close a recovered, acknowledged deviation (QA).")
        @Argument(help: "Deviation id.") var id: String
        @Option(help: "The impact assessment on the lots named.") var impact: String
        @OptionGroup var control: ControlOptions

        func run() async throws {
            try await control.callSigned(
                "/deviations/\(segment(id))/close", body: { ControlAPI.Close(impact: impact, password: $0) },
                as: ControlAPI.DeviationView.self, render: ControlText.deviation)
        }
    }
}
