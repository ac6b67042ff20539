import Foundation
import Hummingbird
import Logging
import Outbound
import Synchronization
import Testing
import TestSupport

@Suite("JSON POST client against a Hummingbird server on loopback", .serialized)
struct JSONPosterTests {
    @Test("the body arrives as sent, as application/json, and a 2xx is success")
    func bodyArrives() async throws {
        try await withWebhookServer { server in
            let body = Data(#"{"event":"deviation_opened","device":"INC-03","value":7.9,"note":"CO₂"}"#.utf8)
            let status = try await JSONPoster().post(url: "http://127.0.0.1:\(server.port)/hook", body: body, timeout: .seconds(10))
            #expect(status == 202)
            let received = server.received.withLock { $0 }
            #expect(received.map(\.body) == [body])
            #expect(received.first?.contentType == "application/json")
        }
    }

    @Test("a 500 is an error naming the url, the status and the server's words")
    func serverError() async throws {
        try await withWebhookServer { server in
            let url = "http://127.0.0.1:\(server.port)/fail"
            let error = try await #require(throws: PostError.self) {
                try await JSONPoster().post(url: url, body: Data("{}".utf8), timeout: .seconds(10))
            }
            #expect(error.status == 500)
            #expect(!error.timedOut)
            #expect(error.description == "POST \(url): 500: store failing")
        }
    }

    @Test("a redirect is an error with its status, not followed (it would be followed as a GET without the body)")
    func redirect() async throws {
        try await withWebhookServer { server in
            let error = try await #require(throws: PostError.self) {
                try await JSONPoster().post(url: "http://127.0.0.1:\(server.port)/moved", body: Data("{}".utf8), timeout: .seconds(10))
            }
            #expect(error.status == 301)
            #expect(server.received.withLock { $0.isEmpty })
        }
    }

    @Test("a server slower than the timeout is an error after the timeout, not after its answer")
    func timeout() async throws {
        try await withWebhookServer { server in
            let url = "http://127.0.0.1:\(server.port)/slow"
            let start = ContinuousClock.now
            let error = try await #require(throws: PostError.self) {
                try await JSONPoster().post(url: url, body: Data("{}".utf8), timeout: .milliseconds(500))
            }
            let elapsed = ContinuousClock.now - start
            #expect(error.timedOut)
            #expect(error.description == "POST \(url): no answer within 0.5 seconds")
            #expect(elapsed >= .milliseconds(500) && elapsed < .seconds(2))
        }
    }

    @Test("nothing listening is an error naming the url (without its password) and the refusal; so is a url that is not http")
    func noServer() async throws {
        let port = freePort()
        // AsyncHTTPClient tries a refused connection again until the deadline.
        let error = try await #require(throws: PostError.self) {
            try await JSONPoster().post(url: "http://user:pw@127.0.0.1:\(port)/hook", body: Data("{}".utf8), timeout: .seconds(1))
        }
        #expect(error.status == nil && error.timedOut)
        #expect(error.url == "http://127.0.0.1:\(port)/hook")
        #expect(error.text.contains("Connection refused"), "\(error)")
        let invalid = try await #require(throws: PostError.self) {
            try await JSONPoster().post(url: "ftp://127.0.0.1/x", body: Data(), timeout: .seconds(5))
        }
        #expect(invalid.description == "POST ftp://127.0.0.1/x: not an http or https url")
    }
}

/// A webhook receiver: POST /hook records the request and answers 202, /fail answers 500 with a
/// text, /moved redirects to /hook, /slow answers after 3 s.
final class WebhookServer: Sendable {
    struct Request: Sendable {
        var body: Data
        var contentType: String?
    }

    let port: Int
    let received = Mutex<[Request]>([])

    init(port: Int) { self.port = port }
}

func withWebhookServer(_ body: (WebhookServer) async throws -> Void) async throws {
    let server = WebhookServer(port: freePort())
    let router = Router()
    router.post("/hook") { [server] request, _ -> HTTPResponse.Status in
        let bytes = try await request.body.collect(upTo: 1 << 20)
        let record = WebhookServer.Request(body: Data(buffer: bytes), contentType: request.headers[.contentType])
        server.received.withLock { $0.append(record) }
        return .accepted
    }
    router.post("/fail") { _, _ in
        Response(status: .internalServerError, body: ResponseBody(byteBuffer: ByteBuffer(string: "store failing\n")))
    }
    router.post("/moved") { _, _ in
        Response(status: .movedPermanently, headers: [.location: "/hook"])
    }
    router.post("/slow") { _, _ -> HTTPResponse.Status in
        try await Task.sleep(for: .seconds(3))
        return .ok
    }
    // Quiet: its shutdown at each test's end logs a cancellation as an error.
    var logger = Logger(label: "webhook-server")
    logger.logLevel = .critical
    let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: server.port)), logger: logger)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await app.runService(gracefulShutdownSignals: []) }
        defer { group.cancelAll() }
        try await eventually("the webhook server to listen", timeout: .seconds(20)) { canConnect(port: server.port) }
        try await body(server)
    }
}
