import Foundation
import LabGate
import Logging
import ServiceLifecycle

/// Anchors the chain heads the daemon wrote every `interval` (and the tracker anchors each lot
/// and deviation action as it commits), and compares the store with them every `checkEvery`:
/// when the store no longer ends where the daemon wrote it, raises `record_tampered` (critical,
/// in the journal, the alert log and the audit trail), once per finding.
struct AnchorService: Service {
    let store: ReadingStore
    let anchors: AnchorWriter
    let interval: Duration
    let alerts: AlertLog
    let logger: Logger
    let audit: @Sendable (_ action: String, _ object: String, _ new: String) async -> Void

    /// How often the store is compared with the heads written: every few seconds, cheaply.
    var checkEvery: Duration { min(interval, .seconds(5)) }

    func run() async {
        await cancelWhenGracefulShutdown {
            let clock = ContinuousClock()
            var due = clock.now
            while !Task.isCancelled {
                await check()
                if clock.now >= due, let heads = store.heads.heads {
                    anchors.write(heads, reason: "periodic")
                    due = clock.now + interval
                }
                do {
                    try await Task.sleep(until: min(due, clock.now + checkEvery), clock: clock)
                } catch {
                    return
                }
            }
        }
    }

    private func check() async {
        guard let heads = store.heads.heads else { return }
        var found: (findings: [TamperCheck.Finding], now: ChainHeads)
        do {
            found = try await store.pool.read { db in (try TamperCheck.check(db, against: heads), try ChainHeads.read(db)) }
        } catch {
            return  // a store that cannot be read now is the writer's alarm, not this one
        }
        // The daemon's own commits found the chains cut when they appended to them.
        let breaks = store.heads.takeBreaks()
        found.findings = breaks + found.findings.filter { finding in !breaks.contains { $0.chain == finding.chain } }
        guard !found.findings.isEmpty else { return }
        // What the daemon wrote goes outside the store first, then the alarm; the store's head
        // becomes the one to compare with, so each finding is raised once.
        anchors.write(heads, reason: "record_tampered")
        store.heads.adopt(found.now, ifStill: heads)
        let detail = found.findings.map(\.text).joined(separator: "; ")
        logger.critical("record_tampered \(detail)")
        do {
            try alerts.write(AlertEvent(time: Date(), severity: .critical, event: .recordTampered, device: "labgate", detail: detail))
        } catch {
            logger.critical("\(error); the event was: record_tampered \(detail)")
        }
        let written = AuditJSON.encode(heads)
        let now = AuditJSON.encode(found.now)
        await audit("record_tampered", "store \(store.path)", "{\"findings\":\(AuditJSON.encode(found.findings.map(\.text))),\"written\":\(written),\"store\":\(now)}")
    }
}
