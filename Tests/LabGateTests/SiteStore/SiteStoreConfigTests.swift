import Foundation
import LabGate
import Testing
import TestSupport

/// `gateway:` and `site_store:` as the README documents them, and their errors at FILE:LINE:COL.
@Suite("Site store config") struct SiteStoreConfigTests {
    let folder: TemporaryFolder
    let secret: String

    init() throws {
        folder = try TemporaryFolder()
        secret = folder.file("site.pass")
        try "s3cret\n".write(toFile: secret, atomically: false, encoding: .utf8)
        chmod(secret, 0o600)
    }

    /// The base config with the site keys appended (they start at line `first`).
    func config(_ lines: String) -> String { ConfigFixtures.base + lines }
    var first: Int { ConfigFixtures.base.split(separator: "\n", omittingEmptySubsequences: false).count }

    @Test("gateway and site_store are read: url's parts, tls (require by default), the password file")
    func readsSiteStore() throws {
        let text = config("gateway: cryo-room-1\nsite_store: { url: \"postgres://labgate@db.site.example:5433/labgate\", password_file: \(secret) }\n")
        let parsed = try ConfigLoader.parse(yaml: text, file: "lab.yaml")
        #expect(parsed.gateway == "cryo-room-1")
        #expect(parsed.siteStore == SiteStoreSettings(
            url: "postgres://labgate@db.site.example:5433/labgate", host: "db.site.example", port: 5433, user: "labgate",
            database: "labgate", tls: .require, passwordFile: secret))
        let plain = try ConfigLoader.parse(yaml: config("gateway: g1\nsite_store: { url: \"postgres://u@h/d\", tls: disable }\n"), file: "lab.yaml")
        #expect(plain.siteStore?.tls == .disable)
        #expect(plain.siteStore?.port == 5432)
    }

    @Test("a site store without a gateway id, a bad url, a password in the url and a bad tls are refused at their place")
    func refusesBadSiteStore() {
        let line = first
        #expect(ConfigFixtures.messages(config("site_store: { url: \"postgres://u@h/d\" }\n")) == [
            "lab.yaml:\(line):13: site_store needs a gateway id (gateway: e.g. cryo-room-1): it keys every row this gateway forwards",
        ])
        #expect(ConfigFixtures.messages(config("gateway: g1\nsite_store:\n  url: \"http://db/x\"\n  tls: maybe\n")) == [
            "lab.yaml:\(line + 2):8: site_store: url must be postgres://USER@HOST[:PORT]/DATABASE (e.g. postgres://labgate@db.site.example/labgate), got 'http://db/x'",
            "lab.yaml:\(line + 3):8: site_store: tls must be require, prefer or disable, got 'maybe'",
        ])
        #expect(ConfigFixtures.messages(config("gateway: g1\nsite_store: { url: \"postgres://u:pw@h/d\" }\n")) == [
            "lab.yaml:\(line + 1):20: site_store: url must not hold a password: put it in password_file (mode 0600)",
        ])
        #expect(ConfigFixtures.messages(config("gateway: \"a b\"\n")) == [
            "lab.yaml:\(line):10: gateway 'a b' must be 1 to 64 letters, digits, '-', '_' or '.'",
        ])
    }

    @Test("ca_file names the CA the site store's certificate is checked against; a relative or unreadable one is refused")
    func caFile() throws {
        let ca = folder.file("site-ca.pem")
        try "-----BEGIN CERTIFICATE-----\n".write(toFile: ca, atomically: false, encoding: .utf8)
        let parsed = try ConfigLoader.parse(yaml: config("gateway: g1\nsite_store: { url: \"postgres://u@h/d\", ca_file: \(ca) }\n"), file: "lab.yaml")
        #expect(parsed.siteStore?.caFile == ca)
        #expect(ConfigFixtures.messages(config("gateway: g1\nsite_store:\n  url: \"postgres://u@h/d\"\n  ca_file: ca.pem\n")) == [
            "lab.yaml:\(first + 3):12: site_store: ca_file must be an absolute path, got 'ca.pem'",
        ])
        #expect(ConfigFixtures.messages(config("gateway: g1\nsite_store:\n  url: \"postgres://u@h/d\"\n  ca_file: /nonexistent/ca.pem\n")) == [
            "lab.yaml:\(first + 3):12: site_store: ca_file /nonexistent/ca.pem cannot be read",
        ])
    }

    @Test("a site store password file other users can read is refused with its name and mode")
    func readableSecret() {
        chmod(secret, 0o644)
        #expect(ConfigFixtures.messages(config("gateway: g1\nsite_store: { url: \"postgres://u@h/d\", password_file: \(secret) }\n")) == [
            "lab.yaml:\(first + 1):55: site_store: password_file \(secret) has mode 0644: other users can read it (chmod 600 \(secret), owned by the labgate user)",
        ])
    }
}
