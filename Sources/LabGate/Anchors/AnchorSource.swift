import Foundation
import Synchronization

/// Where `audit verify` and the lot report read anchors: the systemd journal (through
/// `journalctl`, in a namespace when the daemon logs to one) or an anchor file.
public enum AnchorSource: Sendable, Equatable, CustomStringConvertible {
    case journal(namespace: String?)
    case file(String)

    /// `journal`, `journal:NAMESPACE` or a file's path (as `--anchors` takes it).
    public init(argument: String) {
        if argument == "journal" {
            self = .journal(namespace: nil)
        } else if argument.hasPrefix("journal:") {
            self = .journal(namespace: String(argument.dropFirst("journal:".count)))
        } else {
            self = .file(argument)
        }
    }

    public var description: String {
        switch self {
        case .journal(nil): "the journal"
        case .journal(let namespace?): "the journal (namespace \(namespace))"
        case .file(let path): "anchor file \(path)"
        }
    }

    /// The sources a config implies, as the daemon writes them: its `anchors:` file, or else the
    /// default file in the alerts folder when there is one; and the journal (the daemon writes
    /// there whenever it runs under journald).
    public static func configured(_ config: Config?) -> [AnchorSource] {
        var sources: [AnchorSource] = [.journal(namespace: nil)]
        if let config {
            if let file = config.anchors {
                sources.append(.file(file))
            } else if FileManager.default.fileExists(atPath: config.defaultAnchorFile) {
                sources.append(.file(config.defaultAnchorFile))
            }
        }
        return sources
    }

    /// The anchors this source holds for the store at `store` (an absolute path), oldest first.
    public func load(store: String) async -> Loaded {
        switch self {
        case .file(let path):
            guard FileManager.default.fileExists(atPath: path) else {
                return Loaded(source: self, anchors: [], problem: "\(path) does not exist")
            }
            do {
                // A file is one daemon's: all its anchors count, also for a copy of the store
                // (which must then hold all the anchored rows too).
                let all = try AnchorFile.read(path: path)
                var loaded = Loaded(source: self, anchors: all.anchors, problem: nil)
                if let other = all.anchors.last(where: { !StorePath.same($0.store, store) }) {
                    loaded.note = "\(path) was written for store \(other.store), checked here against \(store)"
                }
                if all.unreadable > 0 { loaded.note = "\(all.unreadable) line(s) of \(path) are not anchors" }
                return loaded
            } catch {
                return Loaded(source: self, anchors: [], problem: "cannot read \(path): \(error.localizedDescription)")
            }
        case .journal(let namespace):
            return await JournalAnchors.read(namespace: namespace, store: store, source: self)
        }
    }

    public struct Loaded: Sendable {
        public var source: AnchorSource
        public var anchors: [Anchor]
        /// Why it could not be read (no journalctl, no permission, no file).
        public var problem: String?
        public var note: String?
    }
}

/// Store paths compared as the daemon and a reader may each spell them.
enum StorePath {
    static func absolute(_ path: String) -> String {
        let url = URL(fileURLWithPath: path)
        return url.standardizedFileURL.resolvingSymlinksInPath().path
    }

    static func same(_ a: String, _ b: String) -> Bool { a == b || absolute(a) == absolute(b) }
}

/// Reads anchors from the journal with `journalctl -o json LABGATE_ANCHOR=1 LABGATE_STORE=...`.
enum JournalAnchors {
    static func read(namespace: String?, store: String, source: AnchorSource) async -> AnchorSource.Loaded {
        let candidates = ["/usr/bin/journalctl", "/bin/journalctl"]
        guard let program = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return .init(source: source, anchors: [], problem: "journalctl is not installed")
        }
        var arguments = ["-o", "json", "--no-pager", "-q"]
        if let namespace { arguments.append("--namespace=\(namespace)") }
        arguments += ["LABGATE_ANCHOR=1", "LABGATE_STORE=\(StorePath.absolute(store))"]
        let result = await run(program, arguments)
        guard let result else { return .init(source: source, anchors: [], problem: "cannot run journalctl") }
        var anchors: [Anchor] = []
        for line in result.out.split(separator: "\n") {
            guard let fields = Anchor.parseObject(line) else { continue }
            let time = fields["__REALTIME_TIMESTAMP"].flatMap(Double.init).map { Date(timeIntervalSince1970: $0 / 1_000_000) }
            if let anchor = Anchor(fields: fields, journalTime: time) { anchors.append(anchor) }
        }
        if result.status != 0 {
            let why = result.err.split(separator: "\n").first.map(String.init) ?? "exit status \(result.status)"
            return .init(source: source, anchors: anchors, problem: "journalctl failed: \(why)")
        }
        // journalctl says so on stderr but exits 0 when it may read only part of the journal
        // (a user outside the systemd-journal and adm groups sees only their own entries).
        let denied = result.err.contains("No journal files were opened due to insufficient permissions")
            || result.err.contains("not seeing messages from other users")
        return .init(
            source: source, anchors: anchors,
            problem: denied && anchors.isEmpty ? "journalctl may not read the system journal (this user is not in the systemd-journal or adm group)" : nil)
    }

    /// Runs a program to its end on a thread of its own (reading its output blocks).
    static func run(_ program: String, _ arguments: [String]) async -> (status: Int32, out: String, err: String)? {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: program)
                process.arguments = arguments
                let out = Pipe()
                let err = Pipe()
                process.standardOutput = out
                process.standardError = err
                process.standardInput = FileHandle.nullDevice
                do {
                    try process.run()
                } catch {
                    continuation.resume(returning: nil)
                    return
                }
                // stderr is read beside stdout, so that neither pipe can fill and stall the other.
                let errorText = TextBox()
                let reading = DispatchGroup()
                DispatchQueue.global().async(group: reading) {
                    let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                    errorText.text.withLock { $0 = text }
                }
                let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                process.waitUntilExit()
                reading.wait()
                continuation.resume(returning: (process.terminationStatus, output, errorText.text.withLock { $0 }))
            }
        }
    }
}

private final class TextBox: Sendable {
    let text = Mutex("")
}
