import Foundation
import Yams

#if canImport(Glibc)
    import Glibc
#endif

extension ConfigReader {
    static let notifyKeys = ["channels", "rules", "fail_safe", "retries"]
    static let channelKinds = ["email", "webhook", "alertmanager", "relay"]
    static let emailKeys = ["to", "from", "smtp"]
    static let smtpKeys = ["host", "port", "tls", "starttls", "user", "password_file", "timeout"]
    static let webhookKeys = ["url", "timeout", "retries"]
    static let alertmanagerKeys = ["url", "timeout"]
    static let relayKeys = ["device", "coil", "register"]
    static let ruleKeys = ["when", "notify", "repeat", "escalate", "until"]
    static let escalationKeys = ["after", "notify"]
    static let failSafeKeys = ["device", "coil", "every"]

    /// The longest wait a rule may name: a week (a longer one is a typo, and repeats must reach a
    /// person while the lot can still be saved).
    static let longestNotifyWait = Duration.seconds(7 * 86_400)

    /// `notify: { channels, rules, fail_safe }`. Read after devices, which outputs refer to.
    mutating func readNotify(_ node: Node, devices: [Device], profiles: [String: Profile]) -> NotifySettings? {
        guard let map = entries(of: node, keys: Self.notifyKeys, required: ["channels"], for: "notify", in: "notify")
        else { return nil }
        let errorsBefore = errors.count
        var known: Set<String> = []
        let channels = map["channels"].map { readChannels($0, devices: devices, profiles: profiles, ids: &known) } ?? []
        let rules = map["rules"].map { readRules($0, channels: known) } ?? []
        let failSafe = map["fail_safe"].flatMap { readFailSafe($0, devices: devices, profiles: profiles) }
        let retries = integer("retries", of: map, range: 0...10)
        checkOutputsDistinct(channels: channels, failSafe: failSafe, at: map)
        guard errors.count == errorsBefore else { return nil }
        return NotifySettings(channels: channels, rules: rules, failSafe: failSafe, retries: retries ?? NotifySettings.defaultRetries)
    }

    // MARK: Channels

    /// `ids`: every channel id written, also of channels with problems (so that rules naming them
    /// are not reported a second time).
    private mutating func readChannels(
        _ node: Node, devices: [Device], profiles: [String: Profile], ids: inout Set<String>
    ) -> [NotifyChannel] {
        guard let items = items(of: node, for: "channels", in: "notify") else { return [] }
        var seen: [String: Int] = [:]
        var channels: [NotifyChannel] = []
        for (index, item) in items.enumerated() {
            let context = Self.peekName(item, key: "id").map { "notify channel \($0)" } ?? "notify channel #\(index + 1)"
            let keys = ["id"] + Self.channelKinds
            guard let map = entries(of: item, keys: keys, required: ["id"], for: "a channel", in: context) else { continue }
            let id = string("id", of: map)
            if let id, let idNode = map["id"] {
                if let first = seen[id] {
                    report("duplicate channel id '\(id)' (first at line \(first))", at: idNode, in: "notify")
                } else if id.contains(where: { $0.isWhitespace || $0 == "," }) {
                    report("'\(id)' is not a channel id (no spaces or commas)", at: idNode, in: context)
                } else {
                    seen[id] = location(of: idNode).line
                    ids.insert(id)
                }
            }
            let kinds = map.entries.filter { Self.channelKinds.contains($0.key) }
            if kinds.isEmpty {
                report("missing kind (expected one of: \(Self.channelKinds.joined(separator: ", ")))", at: item, in: context)
            }
            for extra in kinds.dropFirst() {
                report("more than one kind ('\(kinds[0].key)' and '\(extra.key)')", at: extra.keyNode, in: context)
            }
            guard let chosen = kinds.first else { continue }
            let kind: NotifyChannel.Kind?
            switch chosen.key {
            case "email": kind = readEmail(chosen.value, in: "\(context), email").map { .email($0) }
            case "webhook": kind = readHTTPChannel(chosen.value, "webhook", keys: Self.webhookKeys, in: "\(context), webhook").map { .webhook($0) }
            case "alertmanager": kind = readHTTPChannel(chosen.value, "alertmanager", keys: Self.alertmanagerKeys, in: "\(context), alertmanager").map { .alertmanager($0) }
            default: kind = readRelay(chosen.value, devices: devices, profiles: profiles, in: "\(context), relay").map { .relay($0) }
            }
            guard let id, let kind, kinds.count == 1 else { continue }
            channels.append(NotifyChannel(id: id, kind: kind, location: location(of: item)))
        }
        return channels
    }

    private mutating func readEmail(_ node: Node, in context: String) -> EmailSettings? {
        guard let map = entries(of: node, keys: Self.emailKeys, required: Self.emailKeys, for: "email", in: context)
        else { return nil }
        var to: [String] = []
        if let node = map["to"] {
            let nodes: [Node] = if case .sequence = node { items(of: node, for: "to", in: context) ?? [] } else { [node] }
            if nodes.isEmpty { report("to must name at least one address", at: node, in: context) }
            for item in nodes {
                guard let address = string(item, "an address", in: context) else { continue }
                if Self.isMailAddress(address) { to.append(address) } else {
                    report("'\(address)' is not a mail address (e.g. oncall@site.example)", at: item, in: context)
                }
            }
        }
        var from: String?
        if let node = map["from"], let text = string(node, "from", in: context) {
            if Self.isMailAddress(text) { from = text } else {
                report("'\(text)' is not a mail address (e.g. labgate@lab-host.example)", at: node, in: context)
            }
        }
        let smtp = map["smtp"].flatMap { readSMTP($0, in: "\(context), smtp") }
        guard let from, let smtp, !to.isEmpty else { return nil }
        return EmailSettings(to: to, from: from, smtp: smtp)
    }

    private mutating func readSMTP(_ node: Node, in context: String) -> SMTPSettings? {
        guard let map = entries(of: node, keys: Self.smtpKeys, required: ["host"], for: "smtp", in: context)
        else { return nil }
        let errorsBefore = errors.count
        let host = string("host", of: map)
        let port = integer("port", of: map, range: 1...65535)
        var starttls = boolean("starttls", of: map)
        let tls: SMTPSettings.TLS? = choice("tls", of: map)
        if let tlsNode = map["tls"], map["starttls"] != nil {
            report("give tls or starttls, not both (starttls: true is tls: starttls)", at: tlsNode, in: context)
        }
        if let tls { starttls = tls == .starttls }
        // Port 465 is SMTPS (RFC 8314): TLS from the first byte unless tls says otherwise.
        let implicitTLS = tls == .implicit || (tls == nil && map["starttls"] == nil && port == 465)
        let user = string("user", of: map)
        let passwordFile = string("password_file", of: map)
        let timeout = duration("timeout", of: map, minimum: .seconds(1), maximum: .seconds(300))
        switch (map["user"], map["password_file"]) {
        case (let userNode?, nil): report("user needs a password_file", at: userNode, in: context)
        case (nil, let fileNode?): report("password_file needs a user", at: fileNode, in: context)
        default: break
        }
        if let passwordFile, let fileNode = map["password_file"] {
            checkSecretFile(passwordFile, at: fileNode, in: context)
        }
        guard errors.count == errorsBefore, let host else { return nil }
        return SMTPSettings(
            host: host, port: port ?? (implicitTLS ? 465 : 25), starttls: starttls ?? false, implicitTLS: implicitTLS, user: user,
            passwordFile: passwordFile, timeout: timeout ?? SMTPSettings.defaultTimeout)
    }

    /// A secret must be an absolute path to a regular file no other user can read or write
    /// (mode & 077 == 0): a password readable by every local user is no secret.
    mutating func checkSecretFile(_ path: String, at node: Node, in context: String) {
        guard path.hasPrefix("/") else {
            report("password_file must be an absolute path, got '\(path)'", at: node, in: context)
            return
        }
        var info = stat()
        guard stat(path, &info) == 0 else {
            let reason = String(cString: strerror(errno))
            report("password_file \(path): \(reason.prefix(1).lowercased() + reason.dropFirst())", at: node, in: context)
            return
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            report("password_file \(path) is not a regular file", at: node, in: context)
            return
        }
        let mode = info.st_mode & 0o777
        if mode & 0o077 != 0 {
            let octal = String(mode, radix: 8)
            report(
                "password_file \(path) has mode 0\(octal): other users can read it (chmod 600 \(path), owned by the labgate user)",
                at: node, in: context)
        }
    }

    /// A webhook's or Alertmanager's settings (`name`), read alike: `keys` says which it takes.
    private mutating func readHTTPChannel(_ node: Node, _ name: String, keys: [String], in context: String) -> HTTPChannelSettings? {
        guard let map = entries(of: node, keys: keys, required: ["url"], for: name, in: context)
        else { return nil }
        let url = map["url"].flatMap { readURL($0, in: context) }
        let timeout = duration("timeout", of: map, minimum: .milliseconds(100), maximum: .seconds(120))
        // One retry policy for every channel: a webhook of its own would be a second one.
        if let retriesNode = map["retries"] {
            report("retries is one setting for every channel: notify: { retries: N } (3 unless set)", at: retriesNode, in: context)
        }
        guard let url else { return nil }
        return HTTPChannelSettings(url: url, timeout: timeout ?? HTTPChannelSettings.defaultTimeout)
    }

    /// `http://host:port/path` or `https://...`: host required; no user or password in it.
    private mutating func readURL(_ node: Node, in context: String) -> HTTPURL? {
        guard let text = string(node, "url", in: context) else { return nil }
        guard let parts = URLComponents(string: text), let scheme = parts.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = parts.host, !host.isEmpty
        else {
            report("'\(text)' is not an http or https URL (e.g. http://127.0.0.1:9000/labgate)", at: node, in: context)
            return nil
        }
        if parts.user != nil || parts.password != nil {
            report("the url must not carry a user or password", at: node, in: context)
            return nil
        }
        let isTLS = scheme == "https"
        var path = parts.percentEncodedPath.isEmpty ? "/" : parts.percentEncodedPath
        if let query = parts.percentEncodedQuery { path += "?" + query }
        let bareHost = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        return HTTPURL(text: text, isTLS: isTLS, host: bareHost, port: parts.port ?? (isTLS ? 443 : 80), path: path)
    }

    // MARK: Outputs (relay channels, the fail-safe)

    /// `{ device: IO-01, coil: 0 }` or `{ device: IO-01, register: 40 }`.
    private mutating func readRelay(
        _ node: Node, devices: [Device], profiles: [String: Profile], in context: String
    ) -> RelayOutput? {
        guard let map = entries(of: node, keys: Self.relayKeys, required: ["device"], for: "relay", in: context)
        else { return nil }
        let device = map["device"].flatMap { writableDevice($0, devices: devices, in: context) }
        let target: RelayOutput.Target?
        switch (map["coil"], map["register"]) {
        case (nil, nil):
            report("missing coil or register (e.g. coil: 0)", at: node, in: context)
            target = nil
        case (_?, let registerNode?):
            report("coil and register: keep one", at: registerNode, in: context)
            target = nil
        case (_?, nil):
            target = integer("coil", of: map, range: 0...65535).map { .coil($0) }
        case (nil, let registerNode?):
            let address = integer("register", of: map, range: 0...65535)
            if let address, let device, let read = Self.holdingField(at: address, of: device, profiles: profiles) {
                report(
                    "register \(address) of \(device.id) holds channel \(read) of profile \(device.profile): a relay would overwrite a measurement",
                    at: registerNode, in: context)
            }
            target = address.map { .register($0) }
        }
        guard let device, let target else { return nil }
        return RelayOutput(device: device.id, target: target)
    }

    /// `fail_safe: { device: IO-01, coil: 1, every: 5s }`.
    private mutating func readFailSafe(_ node: Node, devices: [Device], profiles: [String: Profile]) -> FailSafe? {
        let context = "notify, fail_safe"
        guard let map = entries(of: node, keys: Self.failSafeKeys, required: Self.failSafeKeys, for: "fail_safe", in: context)
        else { return nil }
        let device = map["device"].flatMap { writableDevice($0, devices: devices, in: context) }
        let coil = integer("coil", of: map, range: 0...65535)
        // An I/O module's communication watchdog is set in seconds; a write more often than every
        // 100 ms would take the bus from the polls, one less often than a minute leaves the
        // building's dialer silent too long after labgate stops.
        let every = duration("every", of: map, minimum: .milliseconds(100), maximum: .seconds(60))
        guard let device, let coil, let every else { return nil }
        return FailSafe(device: device.id, coil: coil, every: every, location: location(of: node))
    }

    /// A device an output may be written to: configured, and of kind `io_module`. labgate writes
    /// only to output modules, never to the equipment it monitors (a coil of an incubator may be
    /// its heater or its door lock): a bus reaches such a device read-only.
    private mutating func writableDevice(_ node: Node, devices: [Device], in context: String) -> Device? {
        guard let id = string(node, "device", in: context) else { return nil }
        guard let device = devices.first(where: { $0.id == id }) else {
            if deviceIDs[id] == nil {
                report("unknown device '\(id)' (\(Self.known("devices", deviceIDs.keys)))", at: node, in: context)
            }
            return nil
        }
        guard device.kind == .ioModule else {
            report(
                "device \(id) is \(device.kind.rawValue): outputs are written only to devices of kind io_module (labgate never writes to the equipment it monitors)",
                at: node, in: context)
            return nil
        }
        return device
    }

    /// The channel a device's profile reads from holding register `address`, if any.
    private static func holdingField(at address: Int, of device: Device, profiles: [String: Profile]) -> String? {
        profiles[device.profile]?.fields.first { $0.table == .holding && $0.addresses.contains(address) }?.channel
    }

    /// Two channels (or a channel and the fail-safe) driving one output would fight over it.
    private mutating func checkOutputsDistinct(channels: [NotifyChannel], failSafe: FailSafe?, at map: Entries) {
        var owners: [RelayOutput: String] = [:]
        for channel in channels {
            guard case .relay(let output) = channel.kind else { continue }
            if let first = owners[output] {
                let place = channel.location ?? location(of: map.node)
                report("\(output) is already driven by channel \(first)", at: place, in: "notify channel \(channel.id)")
            } else {
                owners[output] = "\(channel.id)"
            }
        }
        if let failSafe, let first = owners[RelayOutput(device: failSafe.device, target: .coil(failSafe.coil))] {
            report(
                "\(failSafe.device) coil \(failSafe.coil) is already driven by channel \(first)",
                at: failSafe.location ?? location(of: map.node), in: "notify, fail_safe")
        }
    }

    // MARK: Rules

    private mutating func readRules(_ node: Node, channels: Set<String>) -> [NotifyRule] {
        guard let items = items(of: node, for: "rules", in: "notify") else { return [] }
        return items.enumerated().compactMap { index, item in readRule(item, index: index, channels: channels) }
    }

    private mutating func readRule(_ node: Node, index: Int, channels: Set<String>) -> NotifyRule? {
        let context = "notify rule #\(index + 1)"
        guard let map = entries(of: node, keys: Self.ruleKeys, required: ["when", "notify"], for: "a rule", in: context)
        else { return nil }
        let errorsBefore = errors.count
        var kinds: [AlertEvent.Kind] = []
        if let node = map["when"] {
            for item in list(node, for: "when", in: context) {
                if let kind: AlertEvent.Kind = choice(item, "event", in: context) { kinds.append(kind) }
            }
        }
        let notify = map["notify"].map { channelList($0, channels: channels, in: context) } ?? []
        let every = duration("repeat", of: map, minimum: .seconds(1), maximum: Self.longestNotifyWait)
        let until: NotifyRule.Until? = choice("until", of: map)
        var steps: [NotifyRule.Escalation] = []
        if let node = map["escalate"] {
            for (number, item) in list(node, for: "escalate", in: context).enumerated() {
                let stepContext = "\(context), escalate #\(number + 1)"
                guard let step = entries(of: item, keys: Self.escalationKeys, required: Self.escalationKeys, for: "an escalation", in: stepContext)
                else { continue }
                let after = duration("after", of: step, minimum: .seconds(1), maximum: Self.longestNotifyWait)
                let targets = step["notify"].map { channelList($0, channels: channels, in: stepContext) } ?? []
                if let after, let previous = steps.last, after <= previous.after, let afterNode = step["after"] {
                    report(
                        "after \(DurationText.format(after)) is not later than the step before (\(DurationText.format(previous.after)))",
                        at: afterNode, in: stepContext)
                }
                if let after { steps.append(NotifyRule.Escalation(after: after, notify: targets)) }
            }
        }
        guard errors.count == errorsBefore else { return nil }
        return NotifyRule(
            when: kinds, notify: notify, repeat: every, escalate: steps, until: until ?? .acknowledged,
            location: location(of: node))
    }

    /// A list of channel ids, each one of `channels`.
    private mutating func channelList(_ node: Node, channels: Set<String>, in context: String) -> [String] {
        var ids: [String] = []
        for item in list(node, for: "notify", in: context) {
            guard let id = string(item, "a channel id", in: context) else { continue }
            if channels.contains(id) { ids.append(id) } else {
                report("unknown channel '\(id)' (\(Self.known("channels", channels)))", at: item, in: context)
            }
        }
        return ids
    }

    /// The items of a list, a single item taken as a list of one; an empty list is refused.
    private mutating func list(_ node: Node, for what: String, in context: String) -> [Node] {
        let nodes: [Node] = if case .sequence = node { items(of: node, for: what, in: context) ?? [] } else { [node] }
        if nodes.isEmpty { report("\(what) must not be empty", at: node, in: context) }
        return nodes
    }

    /// `local@domain`, no spaces or angle brackets (the name part of a mailbox is not taken).
    static func isMailAddress(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return false }
        return !text.contains { $0.isWhitespace || "<>,;\"\r\n".contains($0) }
    }
}
