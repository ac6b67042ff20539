import ArgumentParser
import LabGate
import LabGateClient

struct AlarmsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alarms",
        abstract: "Alarms (events that need a person): list, acknowledge (operators).",
        discussion: """
            An event a notify rule routes that needs a person (a deviation, an excursion, an \
            unreachable device, a failing store or channel) is an alarm: its messages repeat and \
            escalate until it is acknowledged. A deviation's alarm is acknowledged with the deviation \
            (labgate deviations ack).
            """,
        subcommands: [List.self, Ack.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Alarms not yet acknowledged, newest first (--all: all of them).")
        @Flag(help: "Acknowledged alarms too.") var all = false
        @OptionGroup var control: ControlOptions

        func run() async throws {
            try await control.call(
                "GET", "/alarms\(all ? "?all=1" : "")", as: [ControlAPI.AlarmView].self, render: ControlText.alarms)
        }
    }

    struct Ack: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Acknowledge an alarm (operators): its messages stop.")
        @Argument(help: "Alarm id, e.g. ALM-2026-0003.") var id: String
        @Option(help: "What was seen and done.") var comment: String
        @OptionGroup var control: ControlOptions

        func run() async throws {
            try await control.callSigned(
                "/alarms/\(segment(id))/ack", body: { ControlAPI.Acknowledge(comment: comment, password: $0) },
                as: ControlAPI.AlarmView.self, render: ControlText.alarm)
        }
    }
}

struct NotifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notify", abstract: "Notification channels: send a test message (operators).",
        subcommands: [Test.self])

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send a test message through one channel and record it (a relay is switched on for 3 s).")
        @Argument(help: "Channel id of notify.channels.") var channel: String
        @OptionGroup var control: ControlOptions

        func run() async throws {
            let attempt = try await control.call(
                "POST", "/notify/test/\(segment(channel))", as: ControlAPI.NotificationView.self,
                render: ControlText.notificationReply)
            if attempt.result != NotificationAttempt.Result.delivered.rawValue { throw ExitCode(1) }
        }
    }
}
