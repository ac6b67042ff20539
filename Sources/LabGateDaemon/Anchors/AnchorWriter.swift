import Foundation
import LabGate
import Logging
import Synchronization

/// Writes anchors (`Anchor`) to the daemon's sinks: the journal when it runs under journald, the
/// anchor file when the config names one or when it does not. Writes run in order on a queue of
/// their own (each file line is synced), never on the cooperative pool, and never make a caller
/// wait but `flush` at stop.
public final class AnchorWriter: Sendable {
    private let queue = DispatchQueue(label: "labgate.anchors")
    private let journal: JournalSender?
    private let file: Mutex<AnchorFile?>
    private let site: String
    private let store: String
    private let logger: Logger
    /// The last failure logged per sink, so that a failing sink is logged when it fails and
    /// when it recovers, not every minute.
    private let failures = Mutex<[String: String]>([:])

    public init(config: Config, logger: Logger, environment: [String: String] = ProcessInfo.processInfo.environment) {
        let journald = JournalSender.runsUnderJournald(environment: environment)
        journal = journald ? JournalSender(environment: environment) : nil
        let path = config.anchors ?? (journald ? nil : config.defaultAnchorFile)
        file = Mutex(path.map(AnchorFile.init(path:)))
        site = config.site
        store = URL(fileURLWithPath: config.store).standardizedFileURL.resolvingSymlinksInPath().path
        self.logger = logger
    }

    /// Where anchors go, for the start-up line.
    public var sinks: String {
        var names: [String] = []
        if let journal { names.append("the journal (\(journal.socketPath))") }
        if let path = file.withLock({ $0?.path }) { names.append(path) }
        return names.isEmpty ? "nowhere" : names.joined(separator: " and ")
    }

    /// Where `audit verify` finds these anchors.
    public var sources: [AnchorSource] {
        var sources: [AnchorSource] = []
        if let journal { sources.append(.journal(namespace: journal.namespace)) }
        if let path = file.withLock({ $0?.path }) { sources.append(.file(path)) }
        return sources
    }

    /// A reload naming another anchor file: later anchors go there.
    public func use(_ config: Config) {
        let path = config.anchors ?? (journal == nil ? config.defaultAnchorFile : nil)
        file.withLock { current in
            if current?.path != path { current = path.map(AnchorFile.init(path:)) }
        }
    }

    /// Queues an anchor of `heads`.
    public func write(_ heads: ChainHeads, reason: String, at time: Date = Date()) {
        let anchor = Anchor(time: time, site: site, store: store, reason: reason, pid: getpid(), heads: heads)
        queue.async { self.send(anchor) }
    }

    /// Waits until every queued anchor is written.
    public func flush() async {
        await withCheckedContinuation { continuation in queue.async { continuation.resume() } }
    }

    private func send(_ anchor: Anchor) {
        if let journal { report("journal", journal.send(anchor.journalFields)) }
        if let file = file.withLock({ $0 }) { report(file.path, file.append(anchor)) }
    }

    private func report(_ sink: String, _ failure: String?) {
        let previous = failures.withLock { failures in
            defer { failures[sink] = failure }
            return failures[sink]
        }
        if let failure, failure != previous {
            logger.critical("anchor not written to \(sink): \(failure); where the record ends is not anchored there")
        } else if failure == nil, previous != nil {
            logger.notice("anchors are written to \(sink) again")
        }
    }
}
