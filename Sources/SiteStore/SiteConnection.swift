import Foundation
import LabGate
import Logging
import NIOCore
import NIOSSL
import PostgresNIO

extension SiteStoreSettings {
    /// postgres-nio's settings for this site store: the password read from `password_file`, TLS
    /// as `tls` says (certificates checked against the system's roots), the connect timeout
    /// covering the startup handshake too.
    public func connectionConfiguration(connectTimeout: Duration = .seconds(10)) throws -> PostgresConnection.Configuration {
        let password = try passwordFile.map { path in
            try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .newlines)
        }
        let mode: PostgresConnection.Configuration.TLS
        switch tls {
        case .disable: mode = .disable
        case .prefer: mode = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        case .require: mode = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: mode)
        let (seconds, attoseconds) = connectTimeout.components
        configuration.options.connectTimeout = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        return configuration
    }

    /// One connection to the site store (for the command-line tool).
    public func connect(logger: Logger) async throws -> PostgresConnection {
        try await PostgresConnection.connect(configuration: connectionConfiguration(), id: 1, logger: logger)
    }
}
