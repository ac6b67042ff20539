import Foundation
import Hummingbird
import LabGate
import Logging
import NIOCore

/// The routes of the control socket, each: identify the peer, check its role, act, reply JSON.
struct ControlHandlers: Sendable {
    let config: Config
    let store: ReadingStore
    let lots: LotBook
    let registry: LotRegistry
    let deviations: DeviationBook
    let progress: DeviationProgress
    let alerts: AlertLog
    let resolver: any IdentityResolver
    let logger: Logger

    func register(on router: Router<ControlContext>) {
        router.get("/whoami") { _, context in
            await reply(context) { peer, roles in
                ControlAPI.WhoAmI(user: peer.user, uid: peer.uid, groups: peer.groups, roles: roles.map(\.rawValue))
            }
        }
        router.get("/lots") { _, context in
            await reply(context, needs: [.operator_, .qa], action: "lot_list", object: "lots") { _, _ in
                registry.lots.map { ControlAPI.LotView(lot: $0, events: registry.events(of: $0)) }
            }
        }
        router.get("/lots/:lot") { _, context in
            let lot = context.parameters.get("lot") ?? ""
            return await reply(context, needs: [.operator_, .qa], action: "lot_show", object: "lot \(lot)") { _, _ in
                let events = registry.events(of: lot)
                guard !events.isEmpty else { throw LotError.unknownLot(lot) }
                return ControlAPI.LotView(lot: lot, events: events)
            }
        }
        router.post("/lots") { request, context in
            let body = try? await request.decode(as: ControlAPI.StartLot.self, context: context)
            let object = "lot \(body?.lot ?? "?")"
            return await reply(context, needs: [.operator_], action: "lot_start", object: object, request: body) { peer, _ in
                guard let body else { throw RequestError(.invalid, "expected JSON {lot, device, spec, note?}") }
                let event = try await lots.start(
                    lot: body.lot, device: body.device, spec: body.spec, note: body.note, user: peer.user)
                return ControlAPI.LotView(lot: event.lot, events: registry.events(of: event.lot))
            }
        }
        router.post("/lots/:lot/move") { request, context in
            let lot = context.parameters.get("lot") ?? ""
            let body = try? await request.decode(as: ControlAPI.MoveLot.self, context: context)
            return await reply(context, needs: [.operator_], action: "lot_move", object: "lot \(lot)", request: body) { peer, _ in
                guard let body else { throw RequestError(.invalid, "expected JSON {device, spec?, note?}") }
                _ = try await lots.move(lot: lot, device: body.device, spec: body.spec, note: body.note, user: peer.user)
                return ControlAPI.LotView(lot: lot, events: registry.events(of: lot))
            }
        }
        router.post("/lots/:lot/end") { request, context in
            let lot = context.parameters.get("lot") ?? ""
            let body = try? await request.decode(as: ControlAPI.EndLot.self, context: context)
            return await reply(context, needs: [.operator_], action: "lot_end", object: "lot \(lot)", request: body) { peer, _ in
                _ = try await lots.end(lot: lot, note: body?.note, user: peer.user)
                return ControlAPI.LotView(lot: lot, events: registry.events(of: lot))
            }
        }
        router.post("/lots/:lot/correct") { request, context in
            let lot = context.parameters.get("lot") ?? ""
            let body = try? await request.decode(as: ControlAPI.CorrectLot.self, context: context)
            return await reply(context, needs: [.operator_], action: "lot_correct", object: "lot \(lot)", request: body) { peer, _ in
                guard let body else { throw RequestError(.invalid, "expected JSON {event, device?, spec?, at?, reason}") }
                var at: Date?
                if let text = body.at {
                    guard let parsed = UTCTime.parse(text) else {
                        throw RequestError(.invalid, "'\(text)' is not a UTC time (e.g. 2026-11-24T08:05:00Z)")
                    }
                    at = parsed
                }
                _ = try await lots.correct(
                    lot: lot, event: body.event, device: body.device, spec: body.spec, at: at, reason: body.reason,
                    user: peer.user)
                return ControlAPI.LotView(lot: lot, events: registry.events(of: lot))
            }
        }
        router.get("/deviations") { request, context in
            let openOnly = ["1", "true", "yes"].contains(request.uri.queryParameters.get("open") ?? "")
            return await reply(context, needs: [.operator_, .qa], action: "deviation_list", object: "deviations") { _, _ in
                try await deviations.list(openOnly: openOnly).map { view($0) }
            }
        }
        router.get("/deviations/:id") { _, context in
            let id = context.parameters.get("id") ?? ""
            return await reply(context, needs: [.operator_, .qa], action: "deviation_show", object: "deviation \(id)") { _, _ in
                guard let record = try await deviations.get(id) else { throw DeviationError.unknownDeviation(id) }
                return view(record)
            }
        }
        router.post("/deviations/:id/ack") { request, context in
            let id = context.parameters.get("id") ?? ""
            let body = try? await request.decode(as: ControlAPI.Acknowledge.self, context: context)
            return await reply(context, needs: [.operator_], action: "deviation_acknowledge", object: "deviation \(id)", request: body) { peer, _ in
                guard let comment = body?.comment, !comment.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw RequestError(.invalid, "an acknowledgement needs a comment")
                }
                let record = try await deviations.acknowledge(id, user: peer.user, comment: comment)
                raise(DeviationAlerts.acknowledged(record))
                return view(record)
            }
        }
        router.post("/deviations/:id/close") { request, context in
            let id = context.parameters.get("id") ?? ""
            let body = try? await request.decode(as: ControlAPI.Close.self, context: context)
            return await reply(context, needs: [.qa], action: "deviation_close", object: "deviation \(id)", request: body) { peer, _ in
                guard let impact = body?.impact, !impact.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw RequestError(.invalid, "closing a deviation needs an impact assessment")
                }
                let record = try await deviations.close(id, user: peer.user, impact: impact)
                raise(DeviationAlerts.closed(record))
                return ControlAPI.DeviationView(record)
            }
        }
        router.get("/audit") { request, context in
            let query = request.uri.queryParameters
            let since = query.get("since").flatMap(UTCTime.parse)
            let object = query.get("object")
            let limit = query.get("limit").flatMap { Int($0) }
            return await reply(context, needs: [.operator_, .qa], action: "audit_list", object: "audit") { _, _ in
                try await store.pool.read { db in try AuditTrail.list(db: db, since: since, object: object, limit: limit) }
                    .map(ControlAPI.AuditView.init)
            }
        }
        router.get("/audit/verify") { _, context in
            await reply(context, needs: [.operator_, .qa], action: "audit_verify", object: "audit") { _, _ in
                try await AuditVerifier.verify(store)
            }
        }
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

    /// Identifies the peer, checks that it holds one of `needs` (audits a refusal), runs `body`
    /// and turns its result or error into a JSON reply.
    private func reply<Result: Encodable & Sendable>(
        _ context: ControlContext, needs: [Role] = [], action: String = "", object: String = "",
        request: (some Encodable & Sendable)? = ControlAPI.EndLot?.none,
        _ body: @Sendable (Peer, [Role]) async throws -> Result
    ) async -> Response {
        do {
            let (uid, gid) = try await context.peerCredentials()
            let peer = resolver.identify(uid: uid, gid: gid)
            let roles = Role.roles(of: peer, in: config.roles)
            if !needs.isEmpty, Set(needs).isDisjoint(with: roles) {
                let groups = needs.flatMap { $0.groups(in: config.roles) }
                let names = needs.map(\.rawValue).joined(separator: " or ")
                let reason = "user \(peer.user) may not \(action.replacingOccurrences(of: "_", with: " ")): "
                    + "that needs the \(names) role (groups: \(groups.isEmpty ? "none configured" : groups.joined(separator: ", ")))"
                let refused = AuditEntry.Draft(
                    user: peer.user, action: "refused", object: object,
                    new: AuditJSON.encode(RefusedRequest(action: action, request: request)),
                    reason: reason)
                do {
                    try await store.pool.write { db in _ = try AuditTrail.append(refused, db: db) }
                } catch {
                    logger.critical("cannot audit a refused request: \(error); \(reason)")
                }
                logger.warning("refused: \(reason)")
                throw RequestError(.forbidden, reason)
            }
            return Self.json(.ok, try await body(peer, roles))
        } catch let error as RequestError {
            return Self.failure(error)
        } catch let error as LotError {
            return Self.failure(RequestError(error))
        } catch let error as DeviationError {
            return Self.failure(RequestError(error))
        } catch {
            logger.error("control request failed: \(error)")
            return Self.json(.internalServerError, ControlAPI.Failure(error: "\(error)"))
        }
    }

    private struct RefusedRequest<Body: Encodable>: Encodable {
        var action: String
        var request: Body?
    }

    private static func failure(_ error: RequestError) -> Response {
        json(.init(code: error.kind.rawValue), ControlAPI.Failure(error: error.message))
    }

    static func json(_ status: HTTPResponse.Status, _ value: some Encodable) -> Response {
        var data = ControlAPI.encode(value)
        data.append(UInt8(ascii: "\n"))
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
