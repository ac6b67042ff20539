/// Why a message was not (wholly) handed to the SMTP server: the server, the stage of the exchange
/// and, when the server said no, its reply code and text, e.g.
/// `mail.site.example:587: RCPT TO <x@y>: 550 5.1.1 unknown user`.
public struct MailError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Where in the exchange it failed.
    public enum Stage: Sendable, Hashable, CustomStringConvertible {
        /// The message itself is unfit to send (a CR or LF in a header, a malformed address, no
        /// recipient); nothing was sent.
        case message
        case connect
        /// The server's opening reply (220).
        case greeting
        case ehlo
        /// HELO, after the server refused EHLO.
        case helo
        case starttls
        /// The TLS handshake after STARTTLS (an untrusted certificate, a wrong name).
        case tls
        case auth
        case mailFrom(String)
        case rcptTo(String)
        case data
        /// The message's content and the final dot, answered by the server's acceptance.
        case content
        case quit

        public var description: String {
            switch self {
            case .message: "message"
            case .connect: "connect"
            case .greeting: "greeting"
            case .ehlo: "EHLO"
            case .helo: "HELO"
            case .starttls: "STARTTLS"
            case .tls: "TLS handshake"
            case .auth: "AUTH"
            case .mailFrom(let address): "MAIL FROM <\(address)>"
            case .rcptTo(let address): "RCPT TO <\(address)>"
            case .data: "DATA"
            case .content: "message content"
            case .quit: "QUIT"
            }
        }
    }

    public var host: String
    public var port: Int
    public var stage: Stage
    /// The server's reply code, when the server answered something other than what was expected.
    public var code: Int?
    /// The server's reply text (lines joined by a space), or what went wrong locally.
    public var text: String
    /// The deadline on the whole exchange passed at `stage`.
    public var timedOut: Bool
    /// Recipients the server accepted the message for despite this error (some RCPT TO refused,
    /// the others delivered). Empty when the message reached nobody.
    public var delivered: [String]

    public init(host: String, port: Int, stage: Stage, code: Int? = nil, text: String, timedOut: Bool = false, delivered: [String] = []) {
        self.host = host
        self.port = port
        self.stage = stage
        self.code = code
        self.text = text
        self.timedOut = timedOut
        self.delivered = delivered
    }

    /// A 5xx reply: sending the same message again will fail the same way. A 4xx, a timeout or a
    /// dropped connection may pass on a later try.
    public var isPermanent: Bool {
        if stage == .message { return true }
        if let code { return code >= 500 }
        return false
    }

    public var description: String {
        let reply = code.map { "\($0) \(text)" } ?? text
        return "\(host):\(port): \(stage): \(reply)"
    }
}
