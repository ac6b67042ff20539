import LabGate

/// Alert log entries for a terminal: the alerts.log line, coloured by severity when wanted.
public enum AlertTerminal {
    public static func render(_ entry: AlertLogReader.Entry, colour: Bool) -> String {
        switch entry {
        case let .event(event):
            let line = AlertFormatter.line(event)
            guard colour else { return line }
            let code = switch event.severity {
            case .critical: "1;31"
            case .warning: "33"
            case .info: "32"
            }
            return "\u{1B}[\(code)m\(line)\u{1B}[0m"
        case let .unreadable(line, text):
            return "alerts.jsonl line \(line) is not a valid event: \(TerminalText.escape(text))"
        }
    }
}
