import Foundation

/// An alert as Prometheus Alertmanager's API v2 takes it. Alertmanager tells alerts apart by
/// their labels: posting the same labels again refreshes the alert; an `endsAt` in the past
/// resolves it.
public struct AlertmanagerAlert: Sendable, Hashable {
    public var labels: [String: String]
    public var annotations: [String: String]
    public var startsAt: Date
    /// Nil: active until Alertmanager's resolve timeout passes without the alert being posted
    /// again.
    public var endsAt: Date?
    public var generatorURL: String?

    public init(labels: [String: String], annotations: [String: String] = [:], startsAt: Date, endsAt: Date? = nil, generatorURL: String? = nil) {
        self.labels = labels
        self.annotations = annotations
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.generatorURL = generatorURL
    }
}

extension AlertmanagerAlert: Encodable {
    private enum Keys: String, CodingKey { case labels, annotations, startsAt, endsAt, generatorURL }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(labels, forKey: .labels)
        try container.encode(annotations, forKey: .annotations)
        try container.encode(Self.rfc3339(startsAt), forKey: .startsAt)
        try container.encodeIfPresent(endsAt.map(Self.rfc3339), forKey: .endsAt)
        try container.encodeIfPresent(generatorURL, forKey: .generatorURL)
    }

    /// `2026-11-29T22:18:54.123Z`: RFC 3339 in UTC, with milliseconds.
    static func rfc3339(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}

/// Posts alerts to a Prometheus Alertmanager (`POST /api/v2/alerts`).
public struct AlertmanagerClient: Sendable {
    /// e.g. `http://127.0.0.1:9093`; a path in it is kept (an Alertmanager behind a prefix).
    public var baseURL: String
    public var timeout: Duration
    private let poster: JSONPoster

    public init(baseURL: String, timeout: Duration = .seconds(10), poster: JSONPoster = JSONPoster()) {
        self.baseURL = baseURL
        self.timeout = timeout
        self.poster = poster
    }

    public var alertsURL: String {
        (baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL) + "/api/v2/alerts"
    }

    public func post(_ alerts: [AlertmanagerAlert]) async throws(PostError) {
        let body: Data
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            body = try encoder.encode(alerts)
        } catch {
            throw PostError(url: alertsURL, text: "cannot encode the alerts: \(error)")
        }
        try await poster.post(url: alertsURL, body: body, timeout: timeout)
    }
}
