import ArgumentParser
import Foundation
import LabGate
import LabGateClient

/// How a control command finds the daemon: `--socket`, else the config's `control:`, else the
/// default socket.
struct ControlOptions: ParsableArguments {
    @Option(name: .long, help: "Configuration file (to find the control socket).")
    var config: String = "/etc/labgate/labgate.yaml"

    @Option(name: .long, help: "The daemon's control socket (default: the config's `control`, else \(Config.defaultControl)).")
    var socket: String?

    @Flag(name: .long, help: "Print the daemon's JSON reply.")
    var json = false

    var socketPath: String {
        if let socket { return socket }
        if FileManager.default.fileExists(atPath: config), let loaded = try? ConfigLoader.load(path: config) {
            return loaded.controlPath
        }
        return Config.defaultControl
    }

    /// Sends the request; prints the reply (JSON with --json, else `render`); exits 2 when the
    /// daemon is not running, 3 when the request was refused, 1 on any other error.
    @discardableResult
    func call<T: Decodable>(
        _ method: String, _ uri: String, body: (some Encodable)? = String?.none, as type: T.Type,
        render: (T) -> String
    ) async throws -> T {
        let reply = try await send(method, uri, body: body.map { ControlAPI.encode($0) })
        return try finish(reply, as: type, render: render)
    }

    /// An act that may need an electronic signature (`signatures:` in the daemon's config): sent
    /// without a password first; when the daemon answers 401 (the act needs one), the password is
    /// read (`PasswordPrompt`: the terminal without echo, or standard input's first line when it
    /// is not a terminal) and the request sent again with it. The daemon checks it for the user
    /// the kernel names for this process, whatever the request says.
    @discardableResult
    func callSigned<T: Decodable, Body: Encodable>(
        _ uri: String, body: (_ password: String?) -> Body, as type: T.Type, render: (T) -> String
    ) async throws -> T {
        var reply = try await send("POST", uri, body: ControlAPI.encode(body(nil)))
        if reply.status == 401 {
            printError(ControlText.message(reply.message))
            guard let password = PasswordPrompt.read(prompt: "password (electronic signature): "), !password.isEmpty else {
                printError("error: no password given: nothing was signed")
                throw ExitCode(1)
            }
            // The request carrying the password is wiped once sent (the password's String
            // cannot be: it is dropped here, as soon as the request is made).
            var signed = ControlAPI.encode(body(password))
            defer { signed.withUnsafeMutableBytes { if let base = $0.baseAddress { explicit_bzero(base, $0.count) } } }
            reply = try await send("POST", uri, body: signed)
        }
        return try finish(reply, as: type, render: render)
    }

    private func send(_ method: String, _ uri: String, body: Data?) async throws -> ControlClient.Reply {
        let client = ControlClient(path: socketPath)
        do {
            return try await client.send(method, uri, body: body)
        } catch {
            printError(error.description)
            if case .notRunning = error { throw ExitCode(2) }
            throw ExitCode(1)
        }
    }

    private func finish<T: Decodable>(_ reply: ControlClient.Reply, as type: T.Type, render: (T) -> String) throws -> T {
        guard reply.ok else {
            printError((reply.status == 403 ? "refused: " : "error: ") + ControlText.message(reply.message))
            throw ExitCode(reply.status == 403 ? 3 : 1)
        }
        let value: T
        do {
            value = try reply.decode(type)
        } catch {
            printError("unexpected reply from the daemon: \(ControlText.message(reply.message))")
            throw ExitCode(1)
        }
        if json {
            FileHandle.standardOutput.write(reply.body)
        } else {
            print(render(value), terminator: "")
        }
        return value
    }
}

/// Path segments are lot and deviation ids, which allow only URL-safe characters; anything
/// else is escaped so the daemon rejects it as unknown.
func segment(_ text: String) -> String {
    text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_."))) ?? text
}

struct WhoAmICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "whoami", abstract: "Show who the daemon takes you for, and your roles.")

    @OptionGroup var control: ControlOptions

    func run() async throws {
        try await control.call("GET", "/whoami", as: ControlAPI.WhoAmI.self) { who in
            ControlText.message(
                "\(who.user) (uid \(who.uid)); groups: \(who.groups.joined(separator: ", ")); roles: \(who.roles.isEmpty ? "none" : who.roles.joined(separator: ", "))")
                + "\n"
        }
    }
}
