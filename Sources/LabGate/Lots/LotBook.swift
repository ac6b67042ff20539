import Foundation
import GRDB

/// Lot actions as the control socket carries them out: each is checked against the lot's recorded
/// events, then committed as a lot event together with its audit entry, then given to the registry.
public struct LotBook: Sendable {
    let store: ReadingStore
    let registry: LotRegistry
    let config: Config
    /// The site's lots as this gateway last read them (nil: no site store): a lot another
    /// gateway holds is moved here from what it says.
    let site: SiteLotView?

    public init(store: ReadingStore, registry: LotRegistry, config: Config, site: SiteLotView? = nil) {
        self.store = store
        self.registry = registry
        self.config = config
        self.site = site
    }

    /// Lot ids: letters, digits and `.-_`, at most 64 characters (e.g. MSC-AT-0042).
    static func checkLotID(_ lot: String) throws(LotError) {
        let allowed = lot.unicodeScalars.allSatisfy {
            ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || "-_.".unicodeScalars.contains($0)
        }
        guard !lot.isEmpty, lot.count <= 64, allowed else {
            throw .invalidLotID(lot)
        }
    }

    func checkDevice(_ device: String) throws(LotError) {
        guard config.device(device) != nil else {
            throw .unknownDevice(device, known: config.devices.map(\.id))
        }
    }

    func checkSpec(_ spec: String, device: String) throws(LotError) {
        guard let found = config.specs[spec] else {
            throw .unknownSpec(spec, known: config.specs.keys.sorted())
        }
        if let device = config.device(device) {
            let channels = Set(config.profile(of: device).fields.map(\.channel))
            let missing = found.limits.keys.filter { !channels.contains($0) }.sorted()
            if !missing.isEmpty {
                throw .specNotMeasured(spec: spec, device: device.id, channels: missing)
            }
        }
    }

    public func start(lot: String, device: String, spec: String, note: String?, user: String) async throws -> LotEvent {
        try Self.checkLotID(lot)
        try checkDevice(device)
        try checkSpec(spec, device: device)
        return try await record(lot: lot, action: .start, device: device, note: note, user: user) { events in
            if let last = events.last {
                let state = last.action == .end ? "ended" : "in \(last.device ?? "?")"
                throw LotError.alreadyExists(lot: lot, state: state)
            }
            return spec
        }
    }

    public func move(lot: String, device: String, spec: String?, note: String?, user: String) async throws -> LotEvent {
        try Self.checkLotID(lot)
        try checkDevice(device)
        // Not inside a device here (never here, or taken by another gateway): the site says where it is.
        if let site, Placement.current(registry.events(of: lot)) == nil {
            return try await arrive(lot: lot, device: device, spec: spec, note: note, user: user, site: site)
        }
        return try await record(lot: lot, action: .move, device: device, note: note, user: user) { events in
            guard let last = events.last else { throw LotError.unknownLot(lot) }
            guard last.action != .end else { throw LotError.ended(lot: lot) }
            let current = Placement.fold(events).last
            let settled = spec ?? current?.spec ?? ""
            try checkSpec(settled, device: device)
            if current?.device == device && current?.spec == settled {
                throw LotError.alreadyThere(lot: lot, device: device, spec: settled)
            }
            return settled
        }
    }

    public func end(lot: String, note: String?, user: String) async throws -> LotEvent {
        try Self.checkLotID(lot)
        return try await record(lot: lot, action: .end, device: nil, note: note, user: user) { events in
            guard let last = events.last else { throw LotError.unknownLot(lot) }
            guard last.action != .end else { throw LotError.alreadyEnded(lot: lot) }
            if Placement.current(events) == nil, let left = events.last(where: { $0.action == .left }) {
                throw LotError.notHere(lot: lot, detail: left.note ?? "another gateway took it")
            }
            return nil
        }
    }

    /// Corrects an earlier action of a lot (its device, spec or the time it really took effect)
    /// with a new, audited event: the earlier event stays as recorded, and so do the readings
    /// stored meanwhile with the lots then recorded; placements and tagging from now on follow
    /// the correction.
    /// `signature` ("corrected", on the lot) is written with the correction, over its event.
    /// `void`: the action never happened (a move recorded for the wrong lot, say): recorded as a
    /// `void` event; the action stays on record and placements from now on leave it out.
    public func correct(
        lot: String, event target: Int64, device: String?, spec: String?, at effective: Date?, reason: String,
        user: String, signature: SignatureGrant? = nil, void: Bool = false
    ) async throws -> LotEvent {
        try Self.checkLotID(lot)
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw LotError.invalidCorrection("a correction needs a reason")
        }
        if void && (device != nil || spec != nil || effective != nil) {
            throw LotError.invalidCorrection("an action that never happened has no device, spec or time to correct")
        }
        guard void || device != nil || spec != nil || effective != nil else {
            throw LotError.invalidCorrection("a correction changes a device, a spec or a time, or voids the action")
        }
        if let device { try checkDevice(device) }
        let now = Date().millisecondsSince1970
        let ms = effective?.millisecondsSince1970
        if let ms, ms > now { throw LotError.invalidCorrection("a correction cannot take effect in the future") }
        return try await record(
            lot: lot, action: void ? .void : .correct, device: device, note: reason, user: user, corrects: target, effective: ms,
            signature: signature
        ) { events in
            guard !events.isEmpty else { throw LotError.unknownLot(lot) }
            let voided = Set(events.filter { $0.action == .void }.compactMap(\.corrects))
            guard let original = events.first(where: { $0.id == target }), original.action != .correct, original.action != .void,
                !voided.contains(target)
            else {
                throw LotError.unknownAction(lot: lot, event: target)
            }
            if original.action == .end && (device != nil || spec != nil) {
                throw LotError.invalidCorrection("an end has no device or spec to correct, only its time")
            }
            let current = Placement.corrected(events).first { $0.id == target }
            if spec != nil || device != nil {
                try checkSpec(spec ?? current?.spec ?? "", device: device ?? current?.device ?? "")
            }
            let proposal = LotEvent(
                id: Int64.max, lot: lot, action: void ? .void : .correct, device: device, spec: spec, time: now, user: user,
                corrects: target, effective: ms)
            let after = Placement.corrected(events + [proposal])
            // A lot that came from another gateway begins here with its arrival (a move).
            // Voiding a lot's only action here (its arrival, recorded for the wrong lot) leaves none.
            guard (void && after.isEmpty) || after.first?.action == .start || after.first?.action == .move,
                !after.dropLast().contains(where: { $0.action == .end })
            else {
                throw LotError.outOfOrder(lot: lot)
            }
            return spec
        }
    }

    /// Checks the action against the lot's events (`check` returns the spec the lot carries after
    /// it), commits the event and its audit entry, and updates the registry.
    func record(
        lot: String, action: LotEvent.Action, device: String?, note: String?, user: String, corrects: Int64? = nil,
        effective: Int64? = nil, signature: SignatureGrant? = nil, before: String? = nil,
        check: @escaping @Sendable (_ events: [LotEvent]) throws -> String?
    ) async throws -> LotEvent {
        let event = try await store.pool.write { db -> LotEvent in
            let events = try LotEvent.fetchAll(db, lot: lot)
            let settled = try check(events)
            // The value before: the placement the lot is in, or for a correction the action as it stood.
            let old: String?
            if let before {
                old = before
            } else if let corrects {
                old = Placement.corrected(events).first { $0.id == corrects }.map { AuditJSON.encode($0) }
            } else {
                old = Placement.fold(events).last.flatMap { $0.end == nil ? AuditJSON.encode($0) : nil }
            }
            let time = Date().millisecondsSince1970
            try db.execute(
                sql: """
                    INSERT INTO lot_event (lot, action, device, spec, time, user, note, corrects, effective)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [lot, action.rawValue, device, settled, time, user, note, corrects, effective])
            let event = LotEvent(
                id: db.lastInsertedRowID, lot: lot, action: action, device: device, spec: settled, time: time,
                user: user, note: note, corrects: corrects, effective: effective)
            try AuditTrail.append(
                .init(
                    user: user, action: "lot_\(action.rawValue)", object: "lot \(lot)", old: old,
                    new: AuditJSON.encode(event), reason: note, record: "lot_event:\(event.id)"),
                db: db, at: event.date)
            // The signature follows the entry of the event it signs.
            try signature?.record(content: Data(AuditJSON.encode(event).utf8), db: db, at: event.date)
            // What the lot's numbers will mean: its device's fields and its spec, as in force now
            // (recorded at the config's load too; written again only if that record is missing).
            if action != .end && action != .left && action != .void {
                try DefinitionRecord.record(
                    config, devices: device.map { [$0] } ?? [], specs: settled.map { [$0] } ?? [], user: user,
                    reason: "lot \(lot) \(action.rawValue)\(device.map { " in " + $0 } ?? "")", db: db, at: event.date)
            }
            return event
        }
        registry.apply(event)
        return event
    }
}
