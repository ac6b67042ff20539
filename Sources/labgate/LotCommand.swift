import ArgumentParser
import LabGate
import LabGateClient

struct LotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lot", abstract: "Place culture lots in devices (through the daemon's control socket).",
        subcommands: [Start.self, Move.self, End.self, Correct.self, Approve.self, List.self, Show.self])

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Place a new lot in a device, with the spec it needs.")
        @Argument(help: "Lot id, e.g. MSC-AT-0042.") var lot: String
        @Option(help: "Device id.") var device: String
        @Option(help: "Spec name (from the config's specs).") var spec: String
        @Option(help: "A note for the record.") var note: String?
        @OptionGroup var control: ControlOptions

        func run() async throws {
            let body = ControlAPI.StartLot(lot: lot, device: device, spec: spec, note: note)
            try await control.call("POST", "/lots", body: body, as: ControlAPI.LotView.self, render: ControlText.lot)
        }
    }

    struct Move: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Move a lot to another device (optionally with another spec).")
        @Argument(help: "Lot id.") var lot: String
        @Option(help: "Device id.") var device: String
        @Option(help: "New spec (default: the lot's current one).") var spec: String?
        @Option(help: "A note for the record.") var note: String?
        @OptionGroup var control: ControlOptions

        func run() async throws {
            let body = ControlAPI.MoveLot(device: device, spec: spec, note: note)
            try await control.call(
                "POST", "/lots/\(segment(lot))/move", body: body, as: ControlAPI.LotView.self, render: ControlText.lot)
        }
    }

    struct End: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take a lot out of monitoring (harvested, shipped, discarded).")
        @Argument(help: "Lot id.") var lot: String
        @Option(help: "A note for the record.") var note: String?
        @OptionGroup var control: ControlOptions

        func run() async throws {
            try await control.call(
                "POST", "/lots/\(segment(lot))/end", body: ControlAPI.EndLot(note: note), as: ControlAPI.LotView.self,
                render: ControlText.lot)
        }
    }

    struct Correct: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Correct an earlier action of a lot (device, spec or when it took effect) with a new, audited entry.",
            discussion: "The corrected action stays on record, and readings already stored keep the lots recorded when they were taken; placements and tagging from now on follow the correction.")
        @Argument(help: "Lot id.") var lot: String
        @Option(help: "The action to correct: its number (#N) in 'labgate lot show'.") var event: Int64
        @Option(help: "The device it really was.") var device: String?
        @Option(help: "The spec it really was.") var spec: String?
        @Option(help: "When it really took effect (UTC, e.g. 2026-11-24T08:05:00Z).") var at: String?
        @Option(help: "Why the record was wrong.") var reason: String
        @Flag(help: "The action never happened (e.g. a move recorded for the wrong lot): void it.") var void = false
        @OptionGroup var control: ControlOptions

        func run() async throws {
            try await control.callSigned(
                "/lots/\(segment(lot))/correct",
                body: { [void] in
                    ControlAPI.CorrectLot(event: event, device: device, spec: spec, at: at, reason: reason, password: $0, void: void ? true : nil)
                },
                as: ControlAPI.LotView.self, render: ControlText.lot)
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Approve a lot's record for batch release (QA): an electronic signature, asked for on the terminal.",
            discussion: "The daemon hashes the lot's record as it stands (its actions, every reading of it, the deviations naming it) and signs that hash with the meaning 'approved for batch release'. A later change to the record (a late reading, a correction, a new deviation) shows the approval as superseded in 'lot show' and the report; the lot can then be approved again.")
        @Argument(help: "Lot id.") var lot: String
        @OptionGroup var control: ControlOptions

        func run() async throws {
            try await control.callSigned(
                "/lots/\(segment(lot))/approve", body: { ControlAPI.Approve(password: $0) }, as: ControlAPI.LotView.self,
                render: ControlText.lot)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List lots: where each is, or that it ended.")
        @OptionGroup var control: ControlOptions

        func run() async throws {
            try await control.call("GET", "/lots", as: [ControlAPI.LotView].self, render: ControlText.lots)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A lot's placements with times and who made each.")
        @Argument(help: "Lot id.") var lot: String
        @OptionGroup var control: ControlOptions

        func run() async throws {
            try await control.call("GET", "/lots/\(segment(lot))", as: ControlAPI.LotView.self, render: ControlText.lot)
        }
    }
}
