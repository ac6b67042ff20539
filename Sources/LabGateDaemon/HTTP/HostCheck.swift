import Glibc
import Hummingbird
import LabGate
import NIOCore

/// Refuses a request whose Host header names neither the listener's address nor one of the
/// configured `names` (421, and the connection closes). A web page a lab member opens elsewhere
/// could otherwise rebind its own host name to this address (DNS rebinding) and read devices,
/// lots and deviations through the browser: the browser still sends the page's name as Host.
/// An IP literal cannot be rebound, so a listener on a wildcard address (0.0.0.0, ::) takes any
/// IP literal; `localhost` is taken on loopback.
struct HostCheck<Context: RequestContext>: RouterMiddleware {
    let settings: HTTPSettings

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let host = request.head.authority, ListenerHost.accepts(host, settings) else {
            let named = request.head.authority.map { "'\(TerminalText.escape(String($0.prefix(100))))'" } ?? "no host"
            return Response(
                status: .misdirectedRequest,
                headers: [.contentType: "text/plain; charset=utf-8", .connection: "close", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(string: "labgate: this listener does not answer to \(named); use http://\(settings.endpoint)/ or a name in the config's http: names\n")))
        }
        return try await next(request, context)
    }
}

/// The names a listener answers to.
enum ListenerHost {
    /// Whether `authority` (host, optionally with `:port`) names this listener.
    static func accepts(_ authority: String, _ settings: HTTPSettings) -> Bool {
        let (host, port) = split(authority)
        if let port, port != String(settings.port) { return false }
        let name = host.lowercased()
        if name == settings.address.lowercased() { return true }
        if settings.names.contains(name) { return true }
        let wildcard = settings.address == "0.0.0.0" || settings.address == "::"
        if wildcard, HTTPSettings.isAddress(name) { return true }
        if settings.isLoopback, name == "localhost" || HTTPSettings.isLoopbackAddress(name) { return true }
        return false
    }

    /// `[::1]:9417` -> ("::1", "9417"); `wall.lab:80` -> ("wall.lab", "80"); `name` -> ("name", nil).
    static func split(_ authority: String) -> (host: String, port: String?) {
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            let host = String(authority[authority.index(after: authority.startIndex)..<close])
            let rest = authority[authority.index(after: close)...]
            return (host, rest.hasPrefix(":") ? String(rest.dropFirst()) : nil)
        }
        if let colon = authority.lastIndex(of: ":"), authority.firstIndex(of: ":") == colon {
            return (String(authority[..<colon]), String(authority[authority.index(after: colon)...]))
        }
        return (authority, nil)
    }
}
