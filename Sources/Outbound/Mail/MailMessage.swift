import Foundation

/// A plain-text email: what the notification channels send, rendered as RFC 5322 with a MIME
/// body (UTF-8, quoted-printable) by `rendered()`.
public struct MailMessage: Sendable, Hashable {
    /// The sender's address (`labgate@lab-host.example`), also the envelope's MAIL FROM.
    public var from: String
    /// The recipients' addresses, each also an envelope RCPT TO.
    public var to: [String]
    public var subject: String
    /// Plain UTF-8 text; any line ending (LF, CRLF, CR) is sent as CRLF.
    public var body: String
    public var date: Date
    /// Without angle brackets, e.g. `2f1c…@lab-host.example`.
    public var messageID: String

    /// A nil `messageID` makes a unique one in the sender's domain.
    public init(from: String, to: [String], subject: String, body: String, date: Date = Date(), messageID: String? = nil) {
        self.from = from
        self.to = to
        self.subject = subject
        self.body = body
        self.date = date
        let domain = from.split(separator: "@").last.map(String.init) ?? "localhost"
        self.messageID = messageID ?? "\(UUID().uuidString.lowercased())@\(domain)"
    }

    /// The message as sent after DATA (before dot-stuffing): headers, an empty line, the body;
    /// every line ends in CRLF and is ASCII. Throws when a header value holds a CR or LF (which
    /// would let a value add headers of its own) or an address is malformed.
    public func rendered() throws(InvalidMailMessage) -> String {
        try MailAddress.check(from, role: "from")
        guard !to.isEmpty else { throw InvalidMailMessage(reason: "no recipient") }
        for address in to { try MailAddress.check(address, role: "to") }
        for (name, value) in [("Subject", subject), ("Message-ID", messageID)] where value.contains(where: \.isNewline) {
            throw InvalidMailMessage(reason: "\(name) holds a line break")
        }
        let id = messageID.hasPrefix("<") ? messageID : "<\(messageID)>"
        guard id.allSatisfy({ $0.isASCII && !$0.isWhitespace }), id.hasSuffix(">"), id.contains("@") else {
            throw InvalidMailMessage(reason: "Message-ID \(messageID) is not id-left@id-right in ASCII")
        }
        var lines = [
            "Date: \(MailHeader.date(date))",
            "From: \(from)",
            MailHeader.addressList("To", to),
            MailHeader.unstructured("Subject", subject),
            "Message-ID: \(id)",
            // RFC 3834: no vacation auto-replies to an alarm.
            "Auto-Submitted: auto-generated",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
            "",
        ]
        lines.append(QuotedPrintable.encode(body))
        return lines.joined(separator: "\r\n")
    }
}

/// A message that cannot be sent as it is (see `MailMessage.rendered()`).
public struct InvalidMailMessage: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}

/// Addresses as labgate sends them: a bare `local@domain` in ASCII, nothing that could end a
/// header or an SMTP command early.
enum MailAddress {
    static func check(_ address: String, role: String) throws(InvalidMailMessage) {
        let forbidden: Set<Character> = ["<", ">", "(", ")", ",", ";", ":", "\\", "\"", "[", "]"]
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
            address.allSatisfy({ $0.isASCII && !$0.isWhitespace && !$0.isNewline && !forbidden.contains($0) && $0.asciiValue! >= 0x21 })
        else { throw InvalidMailMessage(reason: "\(role) address \(address.debugDescription) is not local@domain in ASCII") }
    }
}
