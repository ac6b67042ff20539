import Foundation
import LabGate
import Logging

/// Refused control requests on their way to the audit trail, coalesced per uid so that no user
/// of the host can grow the trail (or the journal) faster than a fixed rate, however many
/// requests they send.
///
/// The first refusal of a quiet uid is audited at once; the refusals of the `window` after it are
/// counted and audited as one entry when that window ends, which opens the next window. So a uid
/// gets at most one `refused` entry per window (60 s in the daemon), each a few hundred bytes
/// whatever was sent: the user and uid, the routes with their counts, the first and last time, and
/// the size and SHA-256 of up to `maxBodies` distinct bodies — never a body itself.
actor RefusalLedger {
    struct Refusal: Sendable {
        var peer: Peer
        /// e.g. `POST /lots/{lot}/end`: the route, not the path, which is the user's text.
        var route: String
        var reason: String
        var body: ControlBody.Digest?
        var time = Date()
    }

    /// What a `refused` entry records (its `new`).
    struct Summary: Codable, Sendable, Equatable {
        var uid: UInt32
        var user: String
        var count: Int
        var first: String
        var last: String
        var routes: [String: Int]
        var bodies: [ControlBody.Digest]
        /// Distinct bodies beyond `maxBodies`, counted but not listed.
        var moreBodies: Int?
    }

    private struct Window {
        var peer: Peer
        var reason: String?
        var count = 0
        var first: Date?
        var last: Date?
        var routes: [String: Int] = [:]
        var bodies: [ControlBody.Digest] = []
        var moreBodies = 0

        mutating func add(_ refusal: Refusal, maxBodies: Int) {
            count += 1
            if reason == nil { reason = refusal.reason }
            if first == nil { first = refusal.time }
            last = refusal.time
            routes[refusal.route, default: 0] += 1
            if let body = refusal.body, !bodies.contains(body) {
                if bodies.count < maxBodies { bodies.append(body) } else { moreBodies += 1 }
            }
        }
    }

    static let maxBodies = 8

    let window: Duration
    private let write: @Sendable (AuditEntry.Draft) async -> Void
    private let logger: Logger
    /// Uids refused within their current window, with what the window collected so far.
    private var windows: [UInt32: Window] = [:]
    private var timers: [UInt32: Task<Void, Never>] = [:]

    init(window: Duration = .seconds(60), logger: Logger, write: @escaping @Sendable (AuditEntry.Draft) async -> Void) {
        self.window = window
        self.logger = logger
        self.write = write
    }

    func record(_ refusal: Refusal) async {
        let uid = refusal.peer.uid
        if windows[uid] != nil {
            windows[uid]?.add(refusal, maxBodies: Self.maxBodies)
            return
        }
        var single = Window(peer: refusal.peer)
        single.add(refusal, maxBodies: Self.maxBodies)
        open(uid, peer: refusal.peer)
        await audit(single)
    }

    /// Audits what every open window collected (at shutdown).
    func flush() async {
        for task in timers.values { task.cancel() }
        timers.removeAll()
        let pending = windows.values.filter { $0.count > 0 }
        windows.removeAll()
        for window in pending { await audit(window) }
    }

    private func open(_ uid: UInt32, peer: Peer) {
        windows[uid] = Window(peer: peer)
        let window = window
        timers[uid] = Task { [weak self] in
            do { try await Task.sleep(for: window) } catch { return }
            await self?.close(uid)
        }
    }

    private func close(_ uid: UInt32) async {
        timers[uid] = nil
        guard let ended = windows.removeValue(forKey: uid) else { return }
        guard ended.count > 0 else { return }  // quiet again: the next refusal is audited at once
        open(uid, peer: ended.peer)
        await audit(ended)
    }

    private func audit(_ window: Window) async {
        let peer = window.peer
        let summary = Summary(
            uid: peer.uid, user: peer.user, count: window.count, first: window.first.map(UTCTime.format) ?? "",
            last: window.last.map(UTCTime.format) ?? "", routes: window.routes, bodies: window.bodies,
            moreBodies: window.moreBodies > 0 ? window.moreBodies : nil)
        let first = window.reason ?? "refused"
        let reason = window.count == 1 ? first : "\(window.count) requests refused within \(DurationText.format(self.window)); the first: \(first)"
        logger.warning("refused: \(TerminalText.escape(reason))")
        await write(AuditEntry.Draft(
            user: peer.user, action: "refused", object: "uid \(peer.uid)", new: AuditJSON.encode(summary), reason: reason))
    }
}
