import Foundation
import LabGate
import Logging
import NIOCore
import NIOSSL
import PostgresNIO

extension SiteStoreSettings {
    /// postgres-nio's settings for this site store: the password read from `password_file`, TLS
    /// as `tls` says (the certificate checked against `ca_file`, else the system's roots, and
    /// against the host's name), the connect timeout covering the startup handshake too.
    public func connectionConfiguration(connectTimeout: Duration = .seconds(10)) throws -> PostgresConnection.Configuration {
        let password = try passwordFile.map { path in
            try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .newlines)
        }
        var client = TLSConfiguration.makeClientConfiguration()
        if let caFile { client.trustRoots = .file(caFile) }
        let mode: PostgresConnection.Configuration.TLS
        switch tls {
        case .disable: mode = .disable
        case .prefer: mode = .prefer(try NIOSSLContext(configuration: client))
        case .require: mode = .require(try NIOSSLContext(configuration: client))
        }
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: mode)
        let (seconds, attoseconds) = connectTimeout.components
        configuration.options.connectTimeout = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        return configuration
    }

    /// One connection to the site store (the forwarder's, the command-line tool's); a server
    /// that offers no TLS while `tls: require` is refused with an error that says so.
    public func connect(connectTimeout: Duration = .seconds(10), id: Int = 1, logger: Logger) async throws -> PostgresConnection {
        let configuration = try connectionConfiguration(connectTimeout: connectTimeout)
        do {
            return try await PostgresConnection.connect(configuration: configuration, id: id, logger: logger)
        } catch let error as PSQLError where error.code == .sslUnsupported {
            throw SiteStoreWithoutTLS(url: url)
        }
    }
}

/// `tls: require`, and the site store answered that it does not speak TLS.
public struct SiteStoreWithoutTLS: Error, CustomStringConvertible {
    public let url: String
    public var description: String {
        "site store \(url) does not offer TLS, and site_store.tls is require: not connecting without it "
            + "(turn ssl on in its postgresql.conf, or set tls: prefer or disable on a network you trust)"
    }
}
