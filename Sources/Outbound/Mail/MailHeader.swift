import Foundation

/// Header fields as RFC 5322 and RFC 2047 want them: lines of at most 78 characters where the text
/// allows, folded before a space; text that is not plain ASCII as UTF-8 encoded-words.
enum MailHeader {
    static let lineLimit = 78

    /// `Sun, 29 Nov 2026 22:18:54 +0000`, always in UTC.
    static func date(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int?) -> String { let n = n ?? 0; return n < 10 ? "0\(n)" : "\(n)" }
        return "\(days[(c.weekday ?? 1) - 1]), \(c.day ?? 1) \(months[(c.month ?? 1) - 1]) \(c.year ?? 1970) "
            + "\(two(c.hour)):\(two(c.minute)):\(two(c.second)) +0000"
    }

    /// `To: a@x, b@y`, folded after a comma when long.
    static func addressList(_ name: String, _ addresses: [String]) -> String {
        fold(name, words: addresses.enumerated().map { $0.offset < addresses.count - 1 ? $0.element + "," : $0.element })
    }

    /// An unstructured field (Subject): as it is when printable ASCII, else encoded-words.
    static func unstructured(_ name: String, _ value: String) -> String {
        let plain = value.unicodeScalars.allSatisfy { (0x20...0x7E).contains($0.value) }
            && !value.contains("=?")  // would read as an encoded-word
        let words = value.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        if plain, words.allSatisfy({ $0.count < 900 }), !value.hasPrefix(" "), !value.contains("  ") {
            return fold(name, words: words)
        }
        return fold(name, words: encodedWords(value))
    }

    /// Joins `words` with spaces after `Name:`, starting a new (folded) line before a word that
    /// would pass the limit.
    private static func fold(_ name: String, words: [String]) -> String {
        var lines: [String] = []
        var line = name + ":"
        for word in words {
            if line.count + 1 + word.count > lineLimit, line.count > name.count + 1 {
                lines.append(line)
                line = ""
            }
            line += " " + word
        }
        lines.append(line)
        return lines.joined(separator: "\r\n")
    }

    /// `=?utf-8?B?…?=` words of at most 42 bytes of text each (56 characters of base64, a word of
    /// 68), split between characters so that each word decodes on its own.
    static func encodedWords(_ text: String) -> [String] {
        let limit = 42
        var chunks: [[UInt8]] = []
        var chunk: [UInt8] = []
        func add(_ bytes: [UInt8]) {
            if chunk.count + bytes.count > limit, !chunk.isEmpty {
                chunks.append(chunk)
                chunk = []
            }
            chunk += bytes
        }
        for character in text {
            let bytes = Array(String(character).utf8)
            if bytes.count <= limit {
                add(bytes)
            } else {
                // A very long grapheme (emoji sequences): split between its scalars.
                for scalar in character.unicodeScalars { add(Array(String(scalar).utf8)) }
            }
        }
        if !chunk.isEmpty || chunks.isEmpty { chunks.append(chunk) }
        return chunks.map { "=?utf-8?B?\(Data($0).base64EncodedString())?=" }
    }
}
