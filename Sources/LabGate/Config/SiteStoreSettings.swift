/// `site_store:` the site's PostgreSQL, which this gateway forwards its records to.
/// `url: postgres://USER@HOST[:PORT]/DATABASE` (no password in it: `password_file` holds it, a
/// file only its owner can read), `tls: require | prefer | disable` (default require),
/// `silent_after: 5m`.
public struct SiteStoreSettings: Sendable, Equatable {
    public enum TLS: String, Sendable, CaseIterable {
        /// Refuse a server without TLS (certificate checked against the system's roots).
        case require
        /// TLS when the server offers it, else plain.
        case prefer
        case disable
    }

    public var url: String
    public var host: String
    public var port: Int
    public var user: String
    public var database: String
    public var tls: TLS
    public var passwordFile: String?
    /// `silent_after`: a gateway that has not forwarded for this long is raised as
    /// `gateway_silent` on the others (default 5 minutes).
    public var silentAfter: Duration = .seconds(300)
    /// The certificate authority (PEM) that signed the site store's certificate, when it is not
    /// one of the system's roots (a site's own CA).
    public var caFile: String?

    public init(
        url: String, host: String, port: Int = 5432, user: String, database: String, tls: TLS = .require, passwordFile: String? = nil,
        caFile: String? = nil
    ) {
        self.url = url
        self.host = host
        self.port = port
        self.user = user
        self.database = database
        self.tls = tls
        self.passwordFile = passwordFile
        self.caFile = caFile
    }
}
