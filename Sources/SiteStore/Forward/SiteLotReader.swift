import Foundation
import LabGate
import Logging
import PostgresNIO

/// The one read the site store answers back to a gateway: the other gateways' lot events past
/// what this gateway has taken in (per gateway, by id: a gateway's events reach the site in id
/// order, one batch after another). Narrow on purpose: the site -> gateway direction carries lot
/// events and nothing else.
struct SiteLotReader {
    let connection: PostgresConnection
    let gateway: String
    let logger: Logger

    func read(after cursors: [String: Int64]) async throws -> [SiteLotEvent] {
        guard !connection.isClosed else { throw ConnectionClosed() }
        let gateways = Array(cursors.keys)
        let ids = gateways.map { cursors[$0]! }
        let rows = try await connection.query(
            """
            SELECT e.gateway, e.id, e.lot, e.action, e.device, e.spec, (extract(epoch FROM e.time) * 1000)::bigint, e."user",
                e.note, e.corrects, (extract(epoch FROM e.effective) * 1000)::bigint
            FROM lot_event e LEFT JOIN unnest(\(gateways)::text[], \(ids)::bigint[]) AS c(gateway, id) ON c.gateway = e.gateway
            WHERE e.gateway <> \(gateway) AND e.id > coalesce(c.id, 0)
            ORDER BY e.gateway, e.id
            """, logger: logger)
        var events: [SiteLotEvent] = []
        for try await (gateway, id, lot, action, device, spec, time, user, note, corrects, effective) in rows.decode(
            (String, Int64, String, String, String?, String?, Int64, String, String?, Int64?, Int64?).self)
        {
            // An action this labgate does not know (a newer gateway's) is left out rather than guessed at.
            guard let action = LotEvent.Action(rawValue: action) else { continue }
            events.append(SiteLotEvent(gateway: gateway, event: LotEvent(
                id: id, lot: lot, action: action, device: device, spec: spec, time: time, user: user, note: note,
                corrects: corrects, effective: effective)))
        }
        return events
    }
}

/// Device ids are unique across the site: a gateway claims its devices at connect; one whose
/// device id another gateway already holds is refused, with both names, before anything of it is
/// taken in. A gateway gives up the devices its config no longer has, so a device can move to
/// another gateway by a config change on each.
struct DeviceClaim {
    struct Collision: Error, CustomStringConvertible, Equatable {
        let gateway: String
        /// Each colliding device and the gateway that holds it.
        let taken: [(device: String, gateway: String)]

        static func == (a: Self, b: Self) -> Bool { a.description == b.description }

        var description: String {
            let list = taken.map { "device \($0.device) is gateway \($0.gateway)'s" }.joined(separator: ", ")
            return "refused by the site store: \(list), and this gateway \(gateway) has a device of the same id; "
                + "device ids must be unique across the site: rename the device on one gateway "
                + "(nothing is forwarded meanwhile; polling and storing locally go on)"
        }
    }

    let connection: PostgresConnection
    let gateway: String
    let logger: Logger

    func claim(_ devices: [String]) async throws {
        guard !connection.isClosed else { throw ConnectionClosed() }
        try await connection.query(
            "DELETE FROM gateway_device WHERE gateway = \(gateway) AND NOT (device = ANY(\(devices)::text[]))", logger: logger)
        try await connection.query(
            """
            INSERT INTO gateway_device (device, gateway) SELECT unnest(\(devices)::text[]), \(gateway)
            ON CONFLICT (device) DO NOTHING
            """, logger: logger)
        let rows = try await connection.query(
            """
            SELECT device, gateway FROM gateway_device WHERE device = ANY(\(devices)::text[]) AND gateway <> \(gateway)
            ORDER BY device
            """, logger: logger)
        var taken: [(device: String, gateway: String)] = []
        for try await (device, owner) in rows.decode((String, String).self) { taken.append((device, owner)) }
        if !taken.isEmpty { throw Collision(gateway: gateway, taken: taken) }
    }
}
