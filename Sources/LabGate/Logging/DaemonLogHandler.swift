import Foundation
import Logging

/// The daemon's own log on stderr. Under systemd (JOURNAL_STREAM set) each line starts with its
/// syslog priority (`<3>` error ... `<7>` debug) so the journal keeps the level; in a terminal it
/// starts with the UTC time and the level.
public struct DaemonLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let journal: Bool

    public init(label: String, level: Logger.Level = .info, journal: Bool = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil) {
        self.label = label
        self.logLevel = level
        self.journal = journal
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { _, new in new }
        let line = Self.render(level: event.level, message: "\(event.message)", metadata: all, journal: journal, time: Date())
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    static func render(level: Logger.Level, message: String, metadata: Logger.Metadata, journal: Bool, time: Date) -> String {
        let prefix = journal ? "<\(priority(level))>" : "\(UTCTime.format(time)) \(level.rawValue.uppercased()) "
        var text = prefix + message
        if !metadata.isEmpty {
            text += " " + metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        return text
    }

    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}
