/// Why a POST did not get a 2xx answer: the url (without any user and password in it), and the
/// status and start of the body the server answered with, or what went wrong on the way.
public struct PostError: Error, Sendable, Hashable, CustomStringConvertible {
    public var url: String
    /// The server's status, when it answered other than 2xx.
    public var status: Int?
    /// The start of the server's answer, or what went wrong (no connection, invalid url).
    public var text: String
    /// No answer within the timeout.
    public var timedOut: Bool

    public init(url: String, status: Int? = nil, text: String, timedOut: Bool = false) {
        self.url = url
        self.status = status
        self.text = text
        self.timedOut = timedOut
    }

    public var description: String {
        let what = status.map { text.isEmpty ? "\($0)" : "\($0): \(text)" } ?? text
        return "POST \(url): \(what)"
    }
}
