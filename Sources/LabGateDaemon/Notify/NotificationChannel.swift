import Foundation
import LabGate

/// One way of delivering a notice (email, webhook, Alertmanager). It throws when the message was
/// not accepted; the notifier retries with backoff and records every attempt.
protocol NotificationChannel: Sendable {
    func deliver(_ notice: Notice) async throws
}

/// A channel that follows alarms' state rather than messages (Alertmanager: alerts posted again
/// while active, ended once acknowledged or recovered as the rule says).
protocol AlarmStateChannel: Sendable {
    /// `active`: the alarms that reach this channel and still need a person; `ended`: those that
    /// stopped needing one since the last call.
    func sync(active: [AlarmRecord], ended: [AlarmRecord]) async throws
}

/// Drives a relay channel's output: on while any event routed to it is unacknowledged, off once
/// all are. The relay outputs are written by the device's bus owner between polls; the daemon
/// passes its writer here (`Notifier.init(relay:)`).
public typealias RelayDriver = @Sendable (_ output: RelayOutput, _ on: Bool) async throws -> Void

/// A channel's failure as the record and the alert log show it.
struct ChannelFailure: Error, CustomStringConvertible {
    var description: String
}
