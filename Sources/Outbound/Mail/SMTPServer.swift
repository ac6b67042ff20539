/// An SMTP server (the site's relay) and how to talk to it.
public struct SMTPServer: Sendable, Hashable {
    public var host: String
    public var port: Int
    /// Upgrade the connection with STARTTLS before anything else; the send fails when the server
    /// does not offer it or its certificate is not trusted.
    public var starttls: Bool
    /// TLS from the first byte, before the server's greeting (SMTPS, port 465, RFC 8314); the
    /// send fails when the certificate is not trusted. `starttls` is then not used.
    public var implicitTLS: Bool
    /// Authenticate (AUTH PLAIN, else LOGIN) when the server offers AUTH. Credentials are sent
    /// only over TLS, or in the clear to a loopback address.
    public var user: String?
    public var password: String?
    /// A PEM file of CA certificates to trust instead of the system's (a site's own CA, or a
    /// test's self-signed certificate). Nil: the system's trust store.
    public var trustedCAFile: String?

    public init(
        host: String, port: Int = 25, starttls: Bool = false, implicitTLS: Bool = false, user: String? = nil, password: String? = nil,
        trustedCAFile: String? = nil
    ) {
        self.host = host
        self.port = port
        self.starttls = starttls
        self.implicitTLS = implicitTLS
        self.user = user
        self.password = password
        self.trustedCAFile = trustedCAFile
    }
}
