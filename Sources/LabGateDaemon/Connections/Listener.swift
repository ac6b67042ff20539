import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// Serves a router on a listener, as Hummingbird's `Application.run` does but without its date
/// cache: that service formats a `Date` header every second through Foundation's Calendar, which
/// keeps ~1.2 MB of ICU resident in the daemon even when nobody connects. The header is formatted
/// per response instead (`HTTPDate`); requests are few.
enum Listener {
    static func run<Context: InitializableFromSource<ApplicationRequestContextSource>>(
        router: Router<Context>, server: HTTPServerBuilder, configuration: ServerConfiguration,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void, logger: Logger
    ) async throws {
        let responder = router.buildResponder()
        let serverName = configuration.serverName
        let service = try server.buildServer(
            configuration: configuration, eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: logger
        ) { request, writer, channel in
            let context = Context(source: .init(channel: channel, logger: logger))
            var response: Response
            do {
                response = try await responder.respond(to: request, context: context)
            } catch let error as HTTPParserError {
                // The channel answers 400 and closes.
                throw error
            } catch {
                logger.debug("unrecognised error", metadata: ["error.type": "\(error)"])
                response = Response(status: .internalServerError, body: .init())
            }
            response.headers[.date] = HTTPDate.header()
            if let serverName {
                response.headers[.server] = serverName
            }
            do {
                try await writer.write(response: response.head, body: response.body)
            } catch is HTTPParserError {
                // Not rethrown as itself: the channel would write a 400 after the response begun.
                throw ParseErrorWhileWritingResponse()
            }
        } onServerRunning: {
            await onServerRunning($0)
        }
        try await service.run()
    }

    /// Closes the connection without a further response.
    private struct ParseErrorWhileWritingResponse: Error {}
}
