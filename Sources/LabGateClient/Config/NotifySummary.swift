import LabGate

/// The `notify` part of `labgate check-config`: each channel with whom it reaches, each rule with
/// its timing, the fail-safe output.
enum NotifySummary {
    static func lines(_ notify: NotifySettings) -> [String] {
        var lines = ["notify channels"]
        if notify.channels.isEmpty { lines.append("  (none)") }
        let width = notify.channels.map(\.id.count).max() ?? 0
        for channel in notify.channels {
            lines.append("  \(channel.id.padding(toLength: width, withPad: " ", startingAt: 0))  \(describe(channel.kind))")
        }
        lines.append("  a failed attempt is retried \(notify.retries) time(s), 1s, 2s, 4s ... apart (at most 1m), then notification_failed")
        lines += ["", "notify rules"]
        if notify.rules.isEmpty { lines.append("  (none)") }
        for (index, rule) in notify.rules.enumerated() {
            lines.append("  #\(index + 1) \(rule.when.map(\.rawValue).joined(separator: ", "))")
            var timing = "     -> \(rule.notify.joined(separator: ", "))"
            if let every = rule.repeat {
                timing += ", again every \(DurationText.format(every)) until \(rule.until.rawValue)"
            } else {
                timing += ", once"
            }
            lines.append(timing)
            for step in rule.escalate {
                lines.append("     after \(DurationText.format(step.after)) also -> \(step.notify.joined(separator: ", "))")
            }
        }
        if !notify.routedKinds.contains(.notificationFailed) {
            lines.append("  notification_failed -> the other channels of the rule whose message failed")
        }
        if let failSafe = notify.failSafe {
            lines += ["", "fail-safe  \(failSafe.device) coil \(failSafe.coil) written every \(DurationText.format(failSafe.every)) while healthy"]
        }
        return lines
    }

    private static func describe(_ kind: NotifyChannel.Kind) -> String {
        switch kind {
        case .email(let email):
            var smtp = "smtp \(email.smtp.host):\(email.smtp.port)"
            if email.smtp.implicitTLS { smtp += " tls implicit" } else if email.smtp.starttls { smtp += " starttls" }
            if let user = email.smtp.user { smtp += " user \(user)" }
            return "email to \(email.to.joined(separator: ", ")) from \(email.from) via \(smtp)"
        case .webhook(let hook):
            return "webhook POST \(hook.url) (timeout \(DurationText.format(hook.timeout)))"
        case .alertmanager(let manager):
            return "alertmanager \(manager.url) (API v2)"
        case .relay(let output):
            return "relay \(output) (on while an event routed to it is unacknowledged)"
        }
    }
}
