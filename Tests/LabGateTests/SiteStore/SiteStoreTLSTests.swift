import Foundation
import GRDB
import LabGate
import Logging
import SiteStore
import Testing
import TestSupport

/// `site_store.tls` against a real PostgreSQL with ssl on (a certificate for 127.0.0.1 made with
/// openssl for the test, its CA in `ca_file`) and with ssl off; pg_stat_ssl says whether the
/// forwarder's own connection is encrypted.
@Suite("The site store's TLS modes against a real PostgreSQL", .serialized)
struct SiteStoreTLSTests {
    @Test("with ssl on: require and prefer connect with TLS, disable without")
    func sslOn() async throws {
        let server = try await PostgreSQLServer(tls: true)
        #expect(try await forwardedOverTLS(server, .require) == true)
        #expect(try await forwardedOverTLS(server, .prefer) == true)
        #expect(try await forwardedOverTLS(server, .disable) == false)
    }

    @Test("with ssl off: require is refused with an error naming the site store; prefer falls back to plain; disable is plain")
    func sslOff() async throws {
        let server = try await PostgreSQLServer()
        #expect(try await forwardedOverTLS(server, .prefer) == false)
        #expect(try await forwardedOverTLS(server, .disable) == false)

        let (store, _folder) = try await storeWithReadings()
        _ = _folder
        var settings = server.settings
        settings.tls = .require
        let state = ForwardState(gateway: "gw-require", url: server.url)
        let task = forward(settings, gateway: "gw-require", store: store, state: state)
        defer { task.cancel() }
        try await eventually("require to be refused", timeout: .seconds(30)) { state.snapshot.lastError != nil }
        #expect(state.snapshot.lastError == "site store \(server.url) does not offer TLS, and site_store.tls is require: not connecting without it (turn ssl on in its postgresql.conf, or set tls: prefer or disable on a network you trust)")
        #expect(!state.snapshot.connected)
        #expect(try server.count("SELECT count(*) FROM pg_stat_activity WHERE datname = 'labgate' AND pid <> pg_backend_pid()") == 0)
    }

    @Test("require checks the certificate: a server whose CA is not trusted is refused")
    func untrustedCertificate() async throws {
        let server = try await PostgreSQLServer(tls: true)
        let (store, _folder) = try await storeWithReadings()
        _ = _folder
        var settings = server.settings
        settings.tls = .require
        let state = ForwardState(gateway: "gw-untrusted", url: server.url)
        let task = forward(settings, gateway: "gw-untrusted", store: store, state: state)
        defer { task.cancel() }
        try await eventually("the untrusted certificate to be refused", timeout: .seconds(30)) { state.snapshot.lastError != nil }
        #expect(state.snapshot.lastError?.contains("CERTIFICATE_VERIFY_FAILED") == true)
        #expect(!state.snapshot.connected)
    }

    /// Forwards a few readings with `tls` (and the server's CA) as gateway "gw-MODE", and says
    /// whether the forwarder's connection is encrypted, as PostgreSQL sees it.
    private func forwardedOverTLS(_ server: PostgreSQLServer, _ tls: SiteStoreSettings.TLS) async throws -> Bool? {
        let (store, folder) = try await storeWithReadings()
        var settings = server.settings
        settings.tls = tls
        settings.caFile = server.tls ? server.caFile : nil
        let gateway = "gw-\(tls.rawValue)"
        let state = ForwardState(gateway: gateway, url: server.url)
        let task = forward(settings, gateway: gateway, store: store, state: state)
        defer { task.cancel(); _ = folder }
        try await eventually("\(gateway)'s readings to arrive", timeout: .seconds(60)) {
            (try? server.count("SELECT count(*) FROM reading WHERE gateway = '\(gateway)'")) == 20
        }
        // The forwarder's connection stays open between batches; psql's own is left out.
        let ssl = try server.rows("""
            SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
            WHERE a.datname = 'labgate' AND a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()
            """)
        task.cancel()
        await task.value
        try await eventually("\(gateway)'s connection to close", timeout: .seconds(10)) {
            (try? server.count("SELECT count(*) FROM pg_stat_activity WHERE datname = 'labgate' AND backend_type = 'client backend' AND pid <> pg_backend_pid()")) == 0
        }
        guard ssl.count == 1 else { Issue.record("one forwarder connection expected, found \(ssl)"); return nil }
        return ssl[0] == ["t"]
    }

    private func storeWithReadings() async throws -> (ReadingStore, TemporaryFolder) {
        let folder = try TemporaryFolder()
        let store = try ReadingStore(path: folder.file("store.sqlite"))
        let writer = ReadingWriter(store: store)
        try await writer.append(siteTestReadings(count: 20))
        try await writer.flush()
        return (store, folder)
    }

    private func forward(_ settings: SiteStoreSettings, gateway: String, store: ReadingStore, state: ForwardState) -> Task<Void, Never> {
        let forwarder = Forwarder(settings: settings, gateway: gateway, store: store, state: state, options: ForwarderTests.quick, logger: Logger(label: "test"))
        return Task { await forwarder.forwardUntilCancelled() }
    }
}
