import NIOCore

/// One reply of an SMTP server: a three-digit code and its lines of text (`250-…` lines and the
/// final `250 …`), without the codes.
struct SMTPReply: Sendable, Hashable {
    var code: Int
    var lines: [String]

    var text: String { lines.joined(separator: " ") }

    /// The keywords of an EHLO reply (uppercased) with their parameters, e.g. `AUTH: [PLAIN,
    /// LOGIN]`; the first line is the server's name, not an extension.
    var extensions: [String: [String]] {
        var result: [String: [String]] = [:]
        for line in lines.dropFirst() {
            // Old servers write `AUTH=PLAIN LOGIN`.
            let words = line.replacingOccurrences(of: "=", with: " ").split(separator: " ").map { $0.uppercased() }
            guard let keyword = words.first else { continue }
            result[keyword, default: []] += words.dropFirst()
        }
        return result
    }
}

/// What the server sent that is no SMTP reply.
struct MalformedSMTPReply: Error, CustomStringConvertible {
    var description: String
}

/// Cuts the server's bytes into replies: lines ending in LF (CRLF by the book), a reply's lines
/// sharing its code, `-` after the code on each but the last.
struct SMTPReplyDecoder: ByteToMessageDecoder {
    typealias InboundOut = SMTPReply

    /// RFC 5321 allows 512 bytes a reply line; a server sending far more is not an SMTP server.
    static let lineLimit = 4096
    static let linesLimit = 200

    private var code: Int?
    private var lines: [String] = []

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let end = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > Self.lineLimit { throw MalformedSMTPReply(description: "a reply line longer than \(Self.lineLimit) bytes") }
            return .needMoreData
        }
        var bytes = buffer.readBytes(length: end - buffer.readerIndex + 1)!
        bytes.removeLast()
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        let line = String(decoding: bytes, as: UTF8.self)
        let digits = line.utf8.prefix(3)
        guard digits.count == 3, digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
            let code = Int(String(line.prefix(3)))
        else { throw MalformedSMTPReply(description: "not an SMTP reply: \(line.prefix(80).debugDescription)") }
        if let expected = self.code, expected != code {
            throw MalformedSMTPReply(description: "a reply's lines with codes \(expected) and \(code)")
        }
        let separator = line.dropFirst(3).first
        lines.append(String(line.dropFirst(4)))
        if separator == "-" {
            guard lines.count < Self.linesLimit else { throw MalformedSMTPReply(description: "a reply of more than \(Self.linesLimit) lines") }
            self.code = code
            return .continue
        }
        let reply = SMTPReply(code: code, lines: lines)
        self.code = nil
        lines = []
        context.fireChannelRead(wrapInboundOut(reply))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
