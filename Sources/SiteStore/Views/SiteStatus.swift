import Foundation
import LabGate
import Logging
import PostgresNIO

/// The site at a glance, from the site store: every gateway with its last forward and how far
/// its readings reach, and every device with its latest diagnostics as its gateway forwarded
/// them (`labgate status --site`, the daemon's site page, `gateway_silent`).
public struct SiteStatus: Sendable, Codable, Equatable {
    public struct Gateway: Sendable, Codable, Equatable {
        public var id: String
        public var firstForward: Date
        public var lastForward: Date
        /// Seconds since its last forward, by the site store's clock (gateways' clocks may differ).
        public var silentFor: Double
        /// Its newest reading at the site, and how old that is (the site's clock): the lag.
        public var newestReading: Date?
        public var lagSeconds: Double?
        /// Readings confirmed (its local sequence).
        public var readingsConfirmed: Int64
        public var devices: [Device]
    }

    public struct Device: Sendable, Codable, Equatable {
        public var id: String
        /// When its gateway last wrote its status.
        public var updated: Date
        public var lastAnswer: Date?
        public var consecutiveFailures: Int64
        public var pollsAnswered: Int64
        public var pollsFailed: Int64
        public var lastError: String?

        /// OK while its last poll was answered, FAILING (n) after n failed in a row, NOT POLLED YET.
        public var state: String {
            if consecutiveFailures > 0 { return "FAILING (\(consecutiveFailures) polls)" }
            return lastAnswer == nil ? "NOT POLLED YET" : "OK"
        }
    }

    /// When it was read (the site store's clock).
    public var time: Date
    public var gateways: [Gateway]

    public static func read(_ connection: PostgresConnection, logger: Logger) async throws -> SiteStatus {
        var time = Date()
        for try await now in try await connection.query("SELECT now()", logger: logger).decode(Date.self) { time = now }
        var gateways: [Gateway] = []
        let rows = try await connection.query(
            """
            SELECT g.id, g.first_forward, g.last_forward, extract(epoch FROM now() - g.last_forward)::float8,
                (SELECT r.time FROM reading r WHERE r.gateway = g.id ORDER BY r.seq DESC LIMIT 1),
                coalesce((SELECT p.position FROM forward_position p WHERE p.gateway = g.id AND p.stream = 'reading'), 0)
            FROM gateway g ORDER BY g.id
            """, logger: logger)
        for try await (id, first, last, silent, newest, position) in rows.decode((String, Date, Date, Double, Date?, Int64).self) {
            gateways.append(Gateway(
                id: id, firstForward: first, lastForward: last, silentFor: silent, newestReading: newest,
                lagSeconds: newest.map { max(0, time.timeIntervalSince($0)) }, readingsConfirmed: position, devices: []))
        }
        // A gateway's device_status row is its local row as JSON (times in UTC milliseconds).
        let devices = try await connection.query(
            """
            SELECT gateway, device, updated, (status ->> 'last_answer')::bigint, coalesce((status ->> 'consecutive_failures')::bigint, 0),
                coalesce((status ->> 'polls_answered')::bigint, 0), coalesce((status ->> 'polls_failed')::bigint, 0), status ->> 'last_error'
            FROM device_status ORDER BY gateway, device
            """, logger: logger)
        for try await (gateway, device, updated, answer, failures, answered, failed, error) in devices.decode(
            (String, String, Date, Int64?, Int64, Int64, Int64, String?).self)
        {
            guard let index = gateways.firstIndex(where: { $0.id == gateway }) else { continue }
            gateways[index].devices.append(Device(
                id: device, updated: updated, lastAnswer: answer.map(Date.init(millisecondsSince1970:)), consecutiveFailures: failures,
                pollsAnswered: answered, pollsFailed: failed, lastError: error))
        }
        return SiteStatus(time: time, gateways: gateways)
    }
}

/// Which other gateways have gone silent (no forward for `after`), as alert events: one
/// `gateway_silent` when a gateway goes silent (or is found silent), one `gateway_forwarding`
/// when it forwards again. This gateway itself is never judged (its own forwarding is in
/// `labgate status`).
public struct GatewaySilence: Sendable {
    public let gateway: String
    public let after: Duration
    public private(set) var silent: Set<String> = []

    public init(gateway: String, after: Duration) {
        self.gateway = gateway
        self.after = after
    }

    public mutating func look(_ status: SiteStatus) -> [AlertEvent] {
        let limit = Double(after.components.seconds) + Double(after.components.attoseconds) / 1e18
        var events: [AlertEvent] = []
        for other in status.gateways where other.id != gateway {
            let quiet = other.silentFor >= limit
            if quiet, !silent.contains(other.id) {
                silent.insert(other.id)
                events.append(AlertEvent(
                    time: Date(), severity: .warning, event: .gatewaySilent, device: other.id, since: other.lastForward,
                    detail: "gateway \(other.id) has not forwarded to the site store for \(DurationText.format(.seconds(Int64(other.silentFor))))"
                        + " (last forward \(UTCTime.format(other.lastForward))): its record at the site stops there"))
            } else if !quiet, silent.contains(other.id) {
                silent.remove(other.id)
                events.append(AlertEvent(
                    time: Date(), severity: .info, event: .gatewayForwarding, device: other.id, since: other.lastForward,
                    detail: "gateway \(other.id) forwards to the site store again (last forward \(UTCTime.format(other.lastForward)))"))
            }
        }
        return events
    }
}
