import Foundation
import Yams

extension ConfigReader {
    static let siteStoreKeys = ["url", "tls", "password_file", "ca_file", "silent_after"]

    /// `gateway:` this gateway's id at the site; `site_store:` the site's PostgreSQL. A site store
    /// needs a gateway id: it keys every row the gateway forwards.
    mutating func readSiteStore(_ top: Entries) -> (gateway: String?, settings: SiteStoreSettings?) {
        var gateway: String?
        if let node = top["gateway"], let id = string(node, "gateway", in: "") {
            if id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }), id.count <= 64 {
                gateway = id
            } else {
                report("gateway '\(id)' must be 1 to 64 letters, digits, '-', '_' or '.'", at: node, in: "")
            }
        }
        guard let node = top["site_store"] else { return (gateway, nil) }
        let context = "site_store"
        guard let map = entries(of: node, keys: Self.siteStoreKeys, required: ["url"], for: "site_store", in: "") else {
            return (gateway, nil)
        }
        let errorsBefore = errors.count
        if top["gateway"] == nil {
            report("site_store needs a gateway id (gateway: e.g. cryo-room-1): it keys every row this gateway forwards", at: node, in: "")
        }
        var settings: SiteStoreSettings?
        if let urlNode = map["url"], let text = string(urlNode, "url", in: context) {
            settings = parseURL(text, at: urlNode, in: context)
        }
        if let tlsNode = map["tls"], let text = string(tlsNode, "tls", in: context) {
            if let tls = SiteStoreSettings.TLS(rawValue: text) {
                settings?.tls = tls
            } else {
                report("tls must be require, prefer or disable, got '\(text)'", at: tlsNode, in: context)
            }
        }
        if let fileNode = map["password_file"], let path = string(fileNode, "password_file", in: context) {
            checkSecretFile(path, at: fileNode, in: context)
            settings?.passwordFile = path
        }
        if let silent = duration("silent_after", of: map, minimum: .seconds(1), maximum: .seconds(86_400)) {
            settings?.silentAfter = silent
        }
        if let caNode = map["ca_file"], let path = string(caNode, "ca_file", in: context) {
            if !path.hasPrefix("/") {
                report("ca_file must be an absolute path, got '\(path)'", at: caNode, in: context)
            } else if !FileManager.default.isReadableFile(atPath: path) {
                report("ca_file \(path) cannot be read", at: caNode, in: context)
            }
            settings?.caFile = path
        }
        guard errors.count == errorsBefore else { return (gateway, nil) }
        return (gateway, settings)
    }

    private mutating func parseURL(_ text: String, at node: Node, in context: String) -> SiteStoreSettings? {
        let example = "postgres://labgate@db.site.example/labgate"
        guard let url = URLComponents(string: text), url.scheme == "postgres" || url.scheme == "postgresql" else {
            report("url must be postgres://USER@HOST[:PORT]/DATABASE (e.g. \(example)), got '\(text)'", at: node, in: context)
            return nil
        }
        if url.password != nil {
            report("url must not hold a password: put it in password_file (mode 0600)", at: node, in: context)
            return nil
        }
        let database = String(url.path.drop { $0 == "/" })
        guard let host = url.host, !host.isEmpty, let user = url.user, !user.isEmpty, !database.isEmpty,
            !database.contains("/"), url.query == nil
        else {
            report("url must name a user, a host and a database: postgres://USER@HOST[:PORT]/DATABASE (e.g. \(example)), got '\(text)'", at: node, in: context)
            return nil
        }
        if let port = url.port, !(1...65535).contains(port) {
            report("url's port must be 1 to 65535, got \(port)", at: node, in: context)
            return nil
        }
        return SiteStoreSettings(url: text, host: host, port: url.port ?? 5432, user: user, database: database)
    }
}
