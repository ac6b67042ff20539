import Foundation
import Hummingbird
import LabGate
import Logging
import NIOCore

/// The routes of the control socket, each: identify the peer, check its role (from the headers
/// alone: a refused request's body is never read into memory), read and check the body, act,
/// reply JSON.
struct ControlHandlers: Sendable {
    let config: Config
    let store: ReadingStore
    let lots: LotBook
    let registry: LotRegistry
    let deviations: DeviationBook
    let progress: DeviationProgress
    let alerts: AlertLog
    let identities: IdentityLookup
    let refusals: RefusalLedger
    /// Alarms and notification tests; nil where the daemon runs without one (tests of other routes).
    var notifier: Notifier?
    /// Where the daemon anchors the end of the record (`audit verify` checks against them).
    var anchorSources: [AnchorSource] = []
    /// Checks signers' passwords (PAM) for the acts `config.signatures` names.
    var signer: Signer?
    let logger: Logger

    func register(on router: Router<ControlContext>) {
        router.get("/whoami") { request, context in
            await reply(request, context) { peer, roles in
                ControlAPI.WhoAmI(user: peer.user, uid: peer.uid, groups: peer.groups, roles: roles.map(\.rawValue))
            }
        }
        router.get("/lots") { request, context in
            await reply(request, context, needs: [.operator_, .qa], action: "lot_list") { _, _ in
                registry.lots.map { ControlAPI.LotView(lot: $0, events: registry.events(of: $0)) }
            }
        }
        router.get("/lots/:lot") { request, context in
            let lot = context.parameters.get("lot") ?? ""
            return await reply(request, context, needs: [.operator_, .qa], action: "lot_show") { _, _ in
                try ControlIDs.lot(lot)
                let events = registry.events(of: lot)
                guard !events.isEmpty else { throw LotError.unknownLot(lot) }
                return try await signed(ControlAPI.LotView(lot: lot, events: events))
            }
        }
        router.post("/lots") { request, context in
            await reply(request, context, needs: [.operator_], action: "lot_start") { peer, _ in
                let body = try await ControlBody.decode(ControlAPI.StartLot.self, from: request, expected: "{lot, device, spec, note?}")
                try ControlIDs.lot(body.lot)
                try ControlIDs.device(body.device, in: config)
                try ControlIDs.spec(body.spec, in: config)
                let event = try await lots.start(
                    lot: body.lot, device: body.device, spec: body.spec, note: body.note, user: peer.user)
                return ControlAPI.LotView(lot: event.lot, events: registry.events(of: event.lot))
            }
        }
        router.post("/lots/:lot/move") { request, context in
            let lot = context.parameters.get("lot") ?? ""
            return await reply(request, context, needs: [.operator_], action: "lot_move") { peer, _ in
                try ControlIDs.lot(lot)
                let body = try await ControlBody.decode(ControlAPI.MoveLot.self, from: request, expected: "{device, spec?, note?}")
                try ControlIDs.device(body.device, in: config)
                if let spec = body.spec { try ControlIDs.spec(spec, in: config) }
                _ = try await lots.move(lot: lot, device: body.device, spec: body.spec, note: body.note, user: peer.user)
                return ControlAPI.LotView(lot: lot, events: registry.events(of: lot))
            }
        }
        router.post("/lots/:lot/end") { request, context in
            let lot = context.parameters.get("lot") ?? ""
            return await reply(request, context, needs: [.operator_], action: "lot_end") { peer, _ in
                try ControlIDs.lot(lot)
                let body = try await ControlBody.decodeIfPresent(ControlAPI.EndLot.self, from: request, expected: "{note?}")
                _ = try await lots.end(lot: lot, note: body?.note, user: peer.user)
                return ControlAPI.LotView(lot: lot, events: registry.events(of: lot))
            }
        }
        router.post("/lots/:lot/correct") { request, context in
            let lot = context.parameters.get("lot") ?? ""
            return await reply(request, context, needs: [.operator_], action: "lot_correct") { peer, _ in
                try ControlIDs.lot(lot)
                let body = try await ControlBody.decode(
                    ControlAPI.CorrectLot.self, from: request, expected: "{event, device?, spec?, at?, reason, password?, void?}")
                if let device = body.device { try ControlIDs.device(device, in: config) }
                if let spec = body.spec { try ControlIDs.spec(spec, in: config) }
                var at: Date?
                if let text = body.at {
                    guard let parsed = UTCTime.parse(text) else {
                        throw RequestError(.invalid, "'\(TerminalText.escape(String(text.prefix(80))))' is not a UTC time (e.g. 2026-11-24T08:05:00Z)")
                    }
                    at = parsed
                }
                guard !body.reason.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw LotError.invalidCorrection("a correction needs a reason")
                }
                let signature = try await sign(.correct, on: .lot(lot), password: body.password, peer: peer)
                _ = try await lots.correct(
                    lot: lot, event: body.event, device: body.device, spec: body.spec, at: at, reason: body.reason,
                    user: peer.user, signature: signature, void: body.void ?? false)
                return ControlAPI.LotView(lot: lot, events: registry.events(of: lot))
            }
        }
        router.post("/lots/:lot/approve") { request, context in
            let lot = context.parameters.get("lot") ?? ""
            return await reply(request, context, needs: [.qa], action: "lot_approve") { peer, _ in
                try ControlIDs.lot(lot)
                guard !registry.events(of: lot).isEmpty else { throw LotError.unknownLot(lot) }
                let separate = config.roles.separateDuties
                // As for a closure: separation of duties before the body is read, its refusal
                // audited as a role's is; LotApprover checks it again where it writes.
                do {
                    try await store.pool.read { db in
                        try SeparationOfDuties.checkApproval(lot: lot, approver: peer.user, enforced: separate, db: db)
                    }
                } catch let error as SignatureError {
                    await refuse(error.description, peer: peer, request, context)
                    throw error
                }
                let body = try await ControlBody.decodeIfPresent(ControlAPI.Approve.self, from: request, expected: "{password}")
                // An approval is a signature: it always takes the approver's password.
                guard let password = body?.password else { throw SignatureError.passwordNeeded(.approve) }
                guard let signer else { throw SignatureError.unavailable("this daemon checks no passwords") }
                do {
                    _ = try await LotApprover.approve(
                        lot: lot, user: peer.user, password: password, signer: signer, separateDuties: separate)
                } catch let error as LotApprover.NothingToApprove {
                    throw RequestError(.conflict, error.description)
                } catch let error as LotApprover.RecordChanged {
                    throw RequestError(.conflict, error.description)
                }
                return try await signed(ControlAPI.LotView(lot: lot, events: registry.events(of: lot)))
            }
        }
        router.get("/deviations") { request, context in
            let openOnly = ["1", "true", "yes"].contains(request.uri.queryParameters.get("open") ?? "")
            return await reply(request, context, needs: [.operator_, .qa], action: "deviation_list") { _, _ in
                try await deviations.list(openOnly: openOnly).map { view($0) }
            }
        }
        router.get("/deviations/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await reply(request, context, needs: [.operator_, .qa], action: "deviation_show") { _, _ in
                try ControlIDs.deviation(id)
                let record = try await afterCommit(of: id) {
                    guard let record = try await deviations.get(id) else { throw DeviationError.unknownDeviation(id) }
                    return record
                }
                var shown = view(record)
                let (attempts, alarms) = try await store.pool.read { db in
                    (try NotificationLog.attempts(naming: id, db: db), try AlarmBook.alarms(ofDeviation: id, db: db))
                }
                shown.notifications = attempts.map(ControlAPI.NotificationView.init)
                shown.alarms = try await signed(alarms.map(ControlAPI.AlarmView.init))
                return try await signed(shown)
            }
        }
        registerNotify(on: router)
        router.post("/deviations/:id/ack") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await reply(request, context, needs: [.operator_], action: "deviation_acknowledge") { peer, _ in
                try ControlIDs.deviation(id)
                let body = try await ControlBody.decode(ControlAPI.Acknowledge.self, from: request, expected: "{comment, password?}")
                let comment = body.comment
                guard !comment.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw RequestError(.invalid, "an acknowledgement needs a comment")
                }
                let signature = try await sign(.ack, on: .deviation(id), password: body.password, peer: peer)
                let record = try await afterCommit(of: id) {
                    try await deviations.acknowledge(id, user: peer.user, comment: comment, signature: signature)
                }
                raise(DeviationAlerts.acknowledged(record))
                return view(record)
            }
        }
        router.post("/deviations/:id/close") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await reply(request, context, needs: [.qa], action: "deviation_close") { peer, _ in
                try ControlIDs.deviation(id)
                let separate = config.roles.separateDuties
                // Separation of duties is decided before the body is read, and its refusal is
                // audited as a role's is; the book checks it again in the closing transaction.
                if let record = try await deviations.get(id), record.state != .closed {
                    do throws(DeviationError) {
                        try SeparationOfDuties.check(record, closer: peer.user, enforced: separate)
                    } catch {
                        await refuse(error.description, peer: peer, request, context)
                        throw error
                    }
                }
                let body = try await ControlBody.decode(ControlAPI.Close.self, from: request, expected: "{impact, password?}")
                let impact = body.impact
                guard !impact.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw RequestError(.invalid, "closing a deviation needs an impact assessment")
                }
                let signature = try await sign(.close, on: .deviation(id), password: body.password, peer: peer)
                let record = try await afterCommit(of: id) {
                    try await deviations.close(
                        id, user: peer.user, impact: impact, separateDuties: separate, signature: signature)
                }
                raise(DeviationAlerts.closed(record))
                return ControlAPI.DeviationView(record)
            }
        }
        router.get("/audit") { request, context in
            let query = request.uri.queryParameters
            let since = query.get("since").flatMap(UTCTime.parse)
            let object = query.get("object")
            let limit = query.get("limit").flatMap { Int($0) }
            return await reply(request, context, needs: [.operator_, .qa], action: "audit_list") { _, _ in
                try await store.pool.read { db in try AuditTrail.list(db: db, since: since, object: object, limit: limit) }
                    .map(ControlAPI.AuditView.init)
            }
        }
        router.get("/audit/verify") { request, context in
            // `anchors=journal|journal:NAMESPACE|FILE` names other anchors than the daemon's own.
            let named = request.uri.queryParameters.get("anchors").map { [AnchorSource(argument: String($0))] }
            return await reply(request, context, needs: [.operator_, .qa], action: "audit_verify") { _, _ in
                // The daemon reads no file a caller names but anchor files of its own: it can read
                // files its callers cannot.
                if case .file(let path)? = named?.first, !ownAnchorFile(path) {
                    throw RequestError(.invalid, "the daemon reads only its own anchor files (\(config.anchors ?? config.defaultAnchorFile)); check \(path) with audit verify --store")
                }
                var report = try await AuditVerifier.verify(store)
                report.apply(try await AnchorCheck.check(store, sources: named ?? anchorSources))
                return report
            }
        }
    }

    /// `GET /alarms[?all=1]`, `POST /alarms/ID/ack {comment}` (operators), `POST /notify/test/CHANNEL`
    /// (operators).
    private func registerNotify(on router: Router<ControlContext>) {
        router.get("/alarms") { request, context in
            let all = ["1", "true", "yes"].contains(request.uri.queryParameters.get("all") ?? "")
            return await reply(request, context, needs: [.operator_, .qa], action: "alarm_list") { _, _ in
                var alarms = await notifier?.openAlarms ?? []
                if all {
                    let known = Set(alarms.map(\.id))
                    alarms += try await AlarmBook.list(store, all: true).filter { !known.contains($0.id) }
                }
                return try await signed(alarms.sorted { ($0.raised, $0.id) > ($1.raised, $1.id) }.map(ControlAPI.AlarmView.init))
            }
        }
        router.post("/alarms/:id/ack") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await reply(request, context, needs: [.operator_], action: "alarm_acknowledge") { peer, _ in
                guard AlarmID.isValid(id) else {
                    throw RequestError(.invalid, "'\(TerminalText.escape(String(id.prefix(80))))' is not an alarm id (e.g. ALM-2026-0003)")
                }
                let body = try await ControlBody.decode(ControlAPI.Acknowledge.self, from: request, expected: "{comment, password?}")
                guard !body.comment.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw RequestError(.invalid, "an acknowledgement needs a comment")
                }
                guard let notifier else { throw RequestError(.notFound, "no alarms: notification is not running") }
                let signature = try await sign(.ack, on: .alarm(id), password: body.password, peer: peer)
                let record: AlarmRecord
                do {
                    record = try await notifier.acknowledge(id, user: peer.user, comment: body.comment, signature: signature)
                } catch let error as NotifyEngine.AckError {
                    guard case .unknown = error else { throw RequestError(.conflict, error.description) }
                    let stored = try await AlarmBook.list(store, all: true).first { $0.id == id }
                    if let stored, let by = stored.ackedBy {
                        throw RequestError(.conflict, NotifyEngine.AckError.alreadyAcknowledged(id, by: by).description)
                    }
                    throw RequestError(.notFound, error.description)
                }
                do {
                    try await notifier.persisted()
                } catch {
                    logger.warning("alarm \(id) acknowledged; its record waits for the store: \(error)")
                }
                return ControlAPI.AlarmView(record)
            }
        }
        router.post("/notify/test/:channel") { request, context in
            let channel = context.parameters.get("channel") ?? ""
            return await reply(request, context, needs: [.operator_], action: "notify_test") { peer, _ in
                guard let notifier else { throw RequestError(.notFound, "notification is not running") }
                do {
                    let attempt = try await notifier.test(channel, user: peer.user)
                    try? await notifier.persisted()
                    return ControlAPI.NotificationView(attempt)
                } catch let error as Notifier.TestError {
                    throw RequestError(.notFound, TerminalText.escape(error.description))
                }
            }
        }
    }

    /// The signature `action` on `subject` needs (`config.signatures`), or the one the request
    /// offers: the peer's kernel user re-authenticated with `password` (the request never names
    /// the signer). No password for an act that needs one: 401, which the CLI answers by asking
    /// for it.
    func sign(
        _ action: SignedAction, on subject: SignatureSubject, password: String?, peer: Peer
    ) async throws -> SignatureGrant? {
        guard let password else {
            if config.signatures.requires(action) { throw SignatureError.passwordNeeded(action) }
            return nil
        }
        guard let signer else { throw SignatureError.unavailable("this daemon checks no passwords") }
        return try await signer.authenticate(user: peer.user, password: password, for: action, on: subject)
    }

    /// The anchor file of the config, or one rotated from it (`anchors.jsonl.1`).
    private func ownAnchorFile(_ path: String) -> Bool {
        let own = URL(fileURLWithPath: config.anchors ?? config.defaultAnchorFile).standardizedFileURL.path
        let named = URL(fileURLWithPath: path).standardizedFileURL.path
        return named == own || (named.hasPrefix(own + ".") && named.dropFirst(own.count + 1).allSatisfy(\.isNumber))
    }

    /// A deviation with, while it is open, its running worst value and size.
    private func view(_ record: DeviationRecord) -> ControlAPI.DeviationView {
        var view = ControlAPI.DeviationView(record)
        if record.end == nil, let live = progress[record.id] {
            view.worstSoFar = live.worst
            view.sizeSoFar = live.size
        }
        return view
    }

    private func raise(_ event: AlertEvent) {
        do {
            try alerts.write(event)
        } catch {
            logger.critical("\(error); the event was: \(AlertFormatter.summary(event))")
        }
    }

    /// Identifies the peer, checks that it holds one of `needs` (a refusal is answered 403 and
    /// goes to the refusal ledger with a digest of the body, never the body), runs `body` (which
    /// reads the request body, if any) and turns its result or error into a JSON reply.
    private func reply<Result: Encodable & Sendable>(
        _ request: Request, _ context: ControlContext, needs: [Role] = [], action: String = "",
        _ body: @Sendable (Peer, [Role]) async throws -> Result
    ) async -> Response {
        do {
            let (uid, gid) = try await context.peerCredentials()
            let peer = await identities.identify(uid: uid, gid: gid)
            let roles = Role.roles(of: peer, in: config.roles)
            if !needs.isEmpty, Set(needs).isDisjoint(with: roles) {
                let groups = needs.flatMap { $0.groups(in: config.roles) }
                let names = needs.map(\.rawValue).joined(separator: " or ")
                let reason = "user \(peer.user) may not \(action.replacingOccurrences(of: "_", with: " ")): "
                    + "that needs the \(names) role (groups: \(groups.isEmpty ? "none configured" : groups.joined(separator: ", ")))"
                await refuse(reason, peer: peer, request, context)
                throw RequestError(.forbidden, reason)
            }
            return Self.json(.ok, try await body(peer, roles))
        } catch let error as RequestError {
            return Self.failure(error)
        } catch let error as LotError {
            return Self.failure(RequestError(error))
        } catch let error as DeviationError {
            return Self.failure(RequestError(error))
        } catch let error as SignatureError {
            return Self.failure(RequestError(error))
        } catch {
            logger.error("control request failed: \(TerminalText.escape("\(error)"))")
            return Self.json(.internalServerError, ControlAPI.Failure(error: "\(error)"))
        }
    }

    /// A refused request to the refusal ledger: route and a digest of the (unread) body, never
    /// the body.
    private func refuse(_ reason: String, peer: Peer, _ request: Request, _ context: ControlContext) async {
        let route = "\(request.method) \(context.endpointPath ?? "?")"
        let digest = request.method == .get ? nil : await ControlBody.digest(of: request)
        await refusals.record(.init(peer: peer, route: route, reason: reason, body: digest))
    }

    private static func failure(_ error: RequestError) -> Response {
        var response = json(.init(code: error.kind.rawValue), ControlAPI.Failure(error: error.message))
        if error.kind == .forbidden || error.kind == .tooLarge {
            // The rest of what this peer sends on this connection is not read: it closes.
            response.headers[.connection] = "close"
        }
        return response
    }

    static func json(_ status: HTTPResponse.Status, _ value: some Encodable) -> Response {
        var data = ControlAPI.encode(value)
        data.append(UInt8(ascii: "\n"))
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
