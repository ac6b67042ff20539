import LabGate

/// The ids a request names (lots, devices, specs, deviations), checked before any of them becomes
/// an audit object, a lot event or a line of a log: a refusal says what was wrong with the text
/// escaped, so even the error cannot carry a newline or an escape sequence.
enum ControlIDs {
    /// Lot ids: letters, digits and `.-_`, at most 64 characters (as `LotBook` requires).
    static func lot(_ text: String) throws(RequestError) {
        guard isPlainID(text) else {
            throw RequestError(.invalid, "'\(TerminalText.escape(String(text.prefix(80))))' is not a lot id (letters, digits, '-', '_', '.'; at most 64)")
        }
    }

    /// A device of the config.
    static func device(_ text: String, in config: Config) throws(RequestError) {
        guard config.device(text) != nil else {
            throw RequestError(
                .notFound, "no device '\(TerminalText.escape(String(text.prefix(80))))' (devices: \(config.devices.map(\.id).joined(separator: ", ")))")
        }
    }

    /// A spec of the config.
    static func spec(_ text: String, in config: Config) throws(RequestError) {
        guard config.specs[text] != nil else {
            let known = config.specs.keys.sorted()
            throw RequestError(
                .notFound, "no spec '\(TerminalText.escape(String(text.prefix(80))))' (specs: \(known.isEmpty ? "none" : known.joined(separator: ", ")))")
        }
    }

    /// DEV-YYYY-NNNN.
    static func deviation(_ text: String) throws(RequestError) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        let digits = { (part: Substring) in !part.isEmpty && part.allSatisfy { $0.isASCII && $0.isNumber } }
        guard text.count <= 32, parts.count == 3, parts[0] == "DEV", parts[1].count == 4, digits(parts[1]), digits(parts[2]) else {
            throw RequestError(.invalid, "'\(TerminalText.escape(String(text.prefix(80))))' is not a deviation id (DEV-YYYY-NNNN)")
        }
    }

    static func isPlainID(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 64
            && text.unicodeScalars.allSatisfy {
                ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || "-_.".unicodeScalars.contains($0)
            }
    }
}
