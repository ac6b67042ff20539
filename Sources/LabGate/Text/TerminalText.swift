/// Text that came from users (notes, comments, impact statements, ids, user names) as a line of
/// alerts.log, a journal entry or a terminal shows it: every control character is written as a
/// visible escape, so that no text can end its line and forge the next one, or move the cursor
/// and recolour a screen with ANSI sequences.
///
/// Escaped: the C0 codes and DEL (`\n`, `\r`, `\t`, ESC as `\e`, the others as `\xHH`), the C1
/// codes U+0080…U+009F (`\u{85}`: NEL and the 8-bit CSI, which some terminals obey), the Unicode
/// line and paragraph separators, and the bidirectional overrides and isolates (which reorder
/// what a reader sees). Everything else, other scripts and symbols included, stays as written.
public enum TerminalText {
    public static func escape(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            guard needsEscape(scalar) else {
                out.unicodeScalars.append(scalar)
                continue
            }
            switch scalar.value {
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x1B: out += "\\e"
            case 0x00...0x1F, 0x7F: out += "\\x" + hex(scalar.value, digits: 2)
            default: out += "\\u{" + hex(scalar.value, digits: 1) + "}"
            }
        }
        return out
    }

    /// Whether `text` would be changed by `escape`.
    public static func isPlain(_ text: String) -> Bool {
        !text.unicodeScalars.contains(where: needsEscape)
    }

    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F: true
        case 0x2028, 0x2029: true  // line and paragraph separators
        case 0x202A...0x202E, 0x2066...0x2069, 0x200E, 0x200F, 0x061C: true  // bidi controls
        default: false
        }
    }

    private static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
