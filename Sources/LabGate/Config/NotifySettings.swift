/// `notify:` who hears of which events, through which channels, how often, and the fail-safe
/// output. Validated whole by the config loader: every rule names known channels, every output
/// is on a configured device that may be written.
public struct NotifySettings: Sendable, Hashable {
    public var channels: [NotifyChannel]
    public var rules: [NotifyRule]
    public var failSafe: FailSafe?
    /// The one retry policy of every channel (message or relay): after a failed attempt (SMTP
    /// refused, a webhook's 5xx or timeout, Alertmanager down, a relay write answered with an
    /// exception), up to `retries` more, waiting 1 s, 2 s, 4 s ... (at most 60 s) between them;
    /// after the last, `notification_failed`.
    public var retries: Int

    public static let defaultRetries = 3

    public init(channels: [NotifyChannel], rules: [NotifyRule], failSafe: FailSafe? = nil, retries: Int = NotifySettings.defaultRetries) {
        self.channels = channels
        self.rules = rules
        self.failSafe = failSafe
        self.retries = retries
    }

    public func channel(_ id: String) -> NotifyChannel? { channels.first { $0.id == id } }

    /// The events some rule routes (notification_failed is routed even when no rule names it).
    public var routedKinds: Set<AlertEvent.Kind> { Set(rules.flatMap(\.when)) }
}

/// One way of reaching people (or a beacon): a named email list, webhook, Alertmanager or relay.
public struct NotifyChannel: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case email(EmailSettings)
        case webhook(WebhookSettings)
        case alertmanager(AlertmanagerSettings)
        case relay(RelayOutput)

        /// `email`, `webhook`, `alertmanager`, `relay`: the key that chose it in the file.
        public var name: String {
            switch self {
            case .email: "email"
            case .webhook: "webhook"
            case .alertmanager: "alertmanager"
            case .relay: "relay"
            }
        }
    }

    public var id: String
    public var kind: Kind
    public var location: SourceLocation?

    public init(id: String, kind: Kind, location: SourceLocation? = nil) {
        self.id = id
        self.kind = kind
        self.location = location
    }

    /// Who a message through this channel reaches, as the record names them: addresses, a URL,
    /// or `IO-01 coil 0`.
    public var recipients: String {
        switch kind {
        case .email(let email): email.to.joined(separator: ", ")
        case .webhook(let hook): hook.url.text
        case .alertmanager(let manager): manager.url.text
        case .relay(let relay): relay.description
        }
    }
}

/// An http or https URL, split as the transports need it.
public struct HTTPURL: Sendable, Hashable, CustomStringConvertible {
    public var text: String
    public var isTLS: Bool
    public var host: String
    public var port: Int
    /// Starts with `/`; `/` when the URL has no path.
    public var path: String

    public init(text: String, isTLS: Bool, host: String, port: Int, path: String) {
        self.text = text
        self.isTLS = isTLS
        self.host = host
        self.port = port
        self.path = path
    }

    public var description: String { text }
}

public struct EmailSettings: Sendable, Hashable {
    public var to: [String]
    public var from: String
    public var smtp: SMTPSettings

    public init(to: [String], from: String, smtp: SMTPSettings) {
        self.to = to
        self.from = from
        self.smtp = smtp
    }
}

/// The site's SMTP relay. `starttls: true` (`tls: starttls`) refuses to send unless the server
/// offers STARTTLS; `tls: implicit` (the default on port 465) speaks TLS from the first byte;
/// `user` and `password_file` come together (AUTH), the file readable by its owner only.
public struct SMTPSettings: Sendable, Hashable {
    /// How the connection is protected (config key `tls`).
    public enum TLS: String, Sendable, CaseIterable {
        case none, starttls, implicit
    }

    public var host: String
    public var port: Int
    public var starttls: Bool
    /// TLS from the first byte (SMTPS, port 465).
    public var implicitTLS: Bool
    public var user: String?
    public var passwordFile: String?
    public var timeout: Duration

    public static let defaultTimeout = Duration.seconds(30)

    public init(
        host: String, port: Int = 25, starttls: Bool = false, implicitTLS: Bool = false, user: String? = nil,
        passwordFile: String? = nil, timeout: Duration = SMTPSettings.defaultTimeout
    ) {
        self.host = host
        self.port = port
        self.starttls = starttls
        self.implicitTLS = implicitTLS
        self.user = user
        self.passwordFile = passwordFile
        self.timeout = timeout
    }
}

/// A channel that POSTs JSON to `url`: a webhook (one POST per message, README "Webhook body")
/// or Prometheus Alertmanager's v2 API (e.g. http://127.0.0.1:9093). Both take the same settings.
public struct HTTPChannelSettings: Sendable, Hashable {
    public var url: HTTPURL
    /// For the whole request, connecting included (retries: `NotifySettings.retries`).
    public var timeout: Duration

    public static let defaultTimeout = Duration.seconds(5)

    public init(url: HTTPURL, timeout: Duration = HTTPChannelSettings.defaultTimeout) {
        self.url = url
        self.timeout = timeout
    }
}

public typealias WebhookSettings = HTTPChannelSettings
public typealias AlertmanagerSettings = HTTPChannelSettings

/// A Modbus output of a configured device of kind `io_module`.
public struct RelayOutput: Sendable, Hashable, CustomStringConvertible {
    public enum Target: Sendable, Hashable {
        /// Written with function 05 (on: 0xFF00, off: 0x0000).
        case coil(Int)
        /// Written with function 06 (on: 1, off: 0).
        case register(Int)
    }

    public var device: String
    public var target: Target

    public init(device: String, target: Target) {
        self.device = device
        self.target = target
    }

    /// `IO-01 coil 0`, `IO-01 register 40`.
    public var description: String {
        switch target {
        case .coil(let address): "\(device) coil \(address)"
        case .register(let address): "\(device) register \(address)"
        }
    }
}

/// Which events go to which channels, and what happens until a person acknowledges them.
///
/// For an event raised at t0 and not yet ended (acknowledged, or recovered when `until` is
/// `recovered`), the rule's messages go out at:
/// - t0 to `notify`;
/// - t0 + k·`repeat` (k = 1, 2, ...) to `notify` and to every escalation step already reached;
/// - t0 + `after` to each escalation step's `notify`, once (then with the repeats above).
public struct NotifyRule: Sendable, Hashable {
    public enum Until: String, Sendable, Codable, Hashable, CaseIterable {
        /// Only a person ends the repeats: a recovered but unacknowledged event still needs one.
        case acknowledged
        /// Recovery ends them too (the alarm itself stays to be acknowledged).
        case recovered
    }

    public struct Escalation: Sendable, Hashable {
        public var after: Duration
        public var notify: [String]

        public init(after: Duration, notify: [String]) {
            self.after = after
            self.notify = notify
        }
    }

    public var when: [AlertEvent.Kind]
    public var notify: [String]
    /// Nil: once only (and escalations).
    public var `repeat`: Duration?
    /// In increasing order of `after`.
    public var escalate: [Escalation]
    public var until: Until
    public var location: SourceLocation?

    public init(
        when: [AlertEvent.Kind], notify: [String], repeat: Duration? = nil, escalate: [Escalation] = [],
        until: Until = .acknowledged, location: SourceLocation? = nil
    ) {
        self.when = when
        self.notify = notify
        self.repeat = `repeat`
        self.escalate = escalate
        self.until = until
        self.location = location
    }
}

/// A coil held on while the daemon is healthy: the I/O module's own communication watchdog drops
/// it when the writes stop, so the building's dialer calls even if labgate or its host dies.
public struct FailSafe: Sendable, Hashable {
    public var device: String
    public var coil: Int
    public var every: Duration
    public var location: SourceLocation?

    public init(device: String, coil: Int, every: Duration, location: SourceLocation? = nil) {
        self.device = device
        self.coil = coil
        self.every = every
        self.location = location
    }
}
