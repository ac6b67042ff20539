import Foundation
import LabGate
import Logging
import UnixSignals

/// SIGHUP: reads the config file again and hands back a new config only when it is valid and
/// can be swapped in whole: it keeps what the lots inside and the open deviations rely on
/// (`ReloadGuard`). A refused one is said in the journal and the alert log (every error as
/// FILE:LINE:COL) and audited; the running config stays.
struct ConfigReload: Sendable {
    let running: Config
    let alerts: AlertLog
    let logger: Logger
    let audit: @Sendable (_ action: String, _ object: String, _ new: String) async -> Void
    /// The lots inside now; none by default (tests of the file checks alone).
    var lotsInside: @Sendable () -> [(lot: String, device: String, spec: String)] = { [] }
    /// The deviations still open (not yet recovered); nil when they cannot be read (a failing
    /// store must not stop a reload: the lots are still checked).
    var openDeviations: @Sendable () async -> [ReloadGuard.OpenDeviation]? = { [] }

    /// Waits for SIGHUP until one brings a valid config (nil when the task is cancelled first).
    func nextValidConfig() async -> Config? {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals {
            logger.notice("SIGHUP: reloading \(running.file)")
            switch check(loading: running.file) {
            case let .success(config):
                guard let refusal = await checkContinuity(config) else { return config }
                await refuse(refusal)
            case let .failure(reason): await refuse(reason)
            }
        }
        return nil
    }

    /// The new config, or why it cannot replace the running one.
    func check(loading path: String) -> Result<Config, Refusal> {
        let next: Config
        do {
            next = try ConfigLoader.load(path: path)
        } catch {
            return .failure(Refusal(summary: "\(error.errors.count) error(s)", lines: error.errors.map(\.description)))
        }
        // These are opened once at start; moving them under a running daemon would split its records.
        var moved: [String] = []
        if next.store != running.store { moved.append("store (\(running.store) -> \(next.store))") }
        if next.alerts != running.alerts { moved.append("alerts (\(running.alerts) -> \(next.alerts))") }
        if next.control != running.control { moved.append("control (\(running.control ?? "default") -> \(next.control ?? "default"))") }
        if next.http?.endpoint != running.http?.endpoint {
            moved.append("http (\(Self.describe(running.http)) -> \(Self.describe(next.http)))")
        }
        guard moved.isEmpty else {
            return .failure(Refusal(
                summary: "it moves \(moved.joined(separator: ", "))",
                lines: ["\(path): \(moved.joined(separator: ", ")) cannot change on reload: restart labgate to move them"]))
        }
        return .success(next)
    }

    /// Whether `next` keeps every device, spec and channel the lots inside and the open
    /// deviations rely on; the refusal says which and what to do first.
    func checkContinuity(_ next: Config) async -> Refusal? {
        let open = await openDeviations()
        if open == nil { logger.warning("reload: open deviations unreadable; checking the lots inside only") }
        let problems = ReloadGuard.problems(next: next, lotsInside: lotsInside(), open: open ?? [])
        guard !problems.isEmpty else { return nil }
        return Refusal(summary: "monitoring would stop for what it removes", lines: problems.map { "\(next.file): \($0)" })
    }

    /// The listener's address is checked at start, when a failure stops the daemon before it
    /// polls; found taken on a reload, it would leave a running daemon without page or metrics.
    /// (`refresh` may change: the listener restarts with each generation.)
    private static func describe(_ http: HTTPSettings?) -> String {
        http?.endpoint ?? "none"
    }

    struct Refusal: Error, Sendable {
        var summary: String
        var lines: [String]
    }

    private func refuse(_ refusal: Refusal) async {
        logger.error("config \(running.file) refused, still running the previous one: \(refusal.summary)")
        for line in refusal.lines { logger.error("\(line)") }
        let event = AlertEvent(
            time: Date(), severity: .warning, event: .configRefused, device: "labgate",
            detail: "\(running.file) refused, previous config kept: " + refusal.lines.joined(separator: "; "))
        do {
            try alerts.write(event)
        } catch {
            logger.critical("\(error)")
        }
        let hash = FieldDigest.file(running.file) ?? "unreadable"
        await audit("config_refused", "config \(running.file)", AuditJSON.encode(["sha256": hash, "errors": refusal.lines.joined(separator: "\n")]))
    }
}
