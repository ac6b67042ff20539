/// Quoted-printable (RFC 2045 6.7) for a text body in UTF-8: lines of at most 76 characters,
/// soft breaks (`=` at the end) inside long lines, line breaks as CRLF, whitespace at a line's end
/// encoded so that no relay strips it.
enum QuotedPrintable {
    static let lineLimit = 76

    static func encode(_ text: String) -> String {
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        var output: [String] = []
        for line in normalized.split(separator: "\n", omittingEmptySubsequences: false) {
            output += encodeLine(Array(line.utf8))
        }
        if output.last == "" { output.removeLast() }
        return output.map { $0 + "\r\n" }.joined()
    }

    /// One hard line as one or more lines joined by soft breaks.
    private static func encodeLine(_ bytes: [UInt8]) -> [String] {
        var lines: [String] = []
        var current = ""
        for (index, byte) in bytes.enumerated() {
            let last = index == bytes.count - 1
            let literal = (byte >= 33 && byte <= 126 && byte != UInt8(ascii: "="))
                || ((byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")) && !last)
            let token = literal ? String(UnicodeScalar(byte)) : escape(byte)
            // Room for the token and, unless it ends the line, a soft break's `=`.
            if current.count + token.count + (last ? 0 : 1) > lineLimit {
                lines.append(current + "=")
                current = ""
            }
            current += token
        }
        lines.append(current)
        return lines
    }

    private static func escape(_ byte: UInt8) -> String {
        let hex = Array("0123456789ABCDEF")
        return "=" + String(hex[Int(byte >> 4)]) + String(hex[Int(byte & 0x0F)])
    }
}
