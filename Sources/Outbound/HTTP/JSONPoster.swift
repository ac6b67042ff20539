import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// POSTs JSON bodies (webhooks, Alertmanager) and insists on a 2xx answer.
public struct JSONPoster: Sendable {
    private let client: HTTPClient
    /// How much of an error answer's body a PostError keeps.
    static let errorBodyLimit = 512

    public init(client: HTTPClient = .shared) {
        self.client = client
    }

    /// POSTs `body` (JSON) to `url` with `Content-Type: application/json` and any `headers`;
    /// returns the status. Throws a PostError for anything but 2xx, or no answer within `timeout`
    /// (connecting, sending and reading the answer included).
    @discardableResult
    public func post(url: String, body: Data, timeout: Duration, headers: [(String, String)] = []) async throws(PostError) -> Int {
        let named = Self.withoutCredentials(url)
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), ["http", "https"].contains(scheme), parsed.host != nil else {
            throw PostError(url: named, text: "not an http or https url")
        }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "labgate")
        for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        do {
            let response = try await client.execute(request, deadline: deadline)
            let status = Int(response.status.code)
            // Read (a bounded start of) the answer either way, so the connection can be reused.
            var answer = ByteBuffer()
            for try await var part in response.body {
                if answer.readableBytes < Self.errorBodyLimit { answer.writeBuffer(&part) }
            }
            guard (200..<300).contains(status) else {
                let text = String(decoding: answer.readableBytesView.prefix(Self.errorBodyLimit), as: UTF8.self)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                throw PostError(url: named, status: status, text: text.isEmpty ? response.status.reasonPhrase : text)
            }
            return status
        } catch let error as PostError {
            throw error
        } catch let error as HTTPClientError
            where [.deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout, .tlsHandshakeTimeout].contains(error)
        {
            throw PostError(url: named, text: "no answer within \(timeout)", timedOut: true)
        } catch {
            let timedOut = NIODeadline.now() >= deadline
            throw PostError(url: named, text: timedOut ? "no answer within \(timeout)" : "\(error)", timedOut: timedOut)
        }
    }

    /// `url` as errors and logs may show it: without `user:password@`.
    static func withoutCredentials(_ url: String) -> String {
        guard var parts = URLComponents(string: url), parts.user != nil || parts.password != nil else { return url }
        parts.user = nil
        parts.password = nil
        return parts.string ?? url
    }
}
