import Foundation
import Yams

/// Typed scalar values: each reports what it expected at the node's line and column.
extension ConfigReader {
    mutating func string(_ node: Node, _ name: String, in context: String, allowEmpty: Bool = false) -> String? {
        guard case .scalar(let scalar) = node, !node.isNull else {
            report("expected a string for \(name), got \(node.described)", at: node, in: context)
            return nil
        }
        if !allowEmpty && scalar.string.trimmingCharacters(in: .whitespaces).isEmpty {
            report("\(name) must not be empty", at: node, in: context)
            return nil
        }
        return scalar.string
    }

    /// A finite number, written as a plain (unquoted) scalar.
    mutating func number(_ node: Node, _ name: String, in context: String) -> Double? {
        guard let text = node.plainText, let value = Self.parseNumber(text) else {
            report("expected a number for \(name), got \(node.described)", at: node, in: context)
            return nil
        }
        return value
    }

    /// A whole number (decimal, or hexadecimal with `0x`), within `range` when one is given.
    mutating func integer(_ node: Node, _ name: String, in context: String, range: ClosedRange<Int>?) -> Int? {
        guard let text = node.plainText, let value = Self.parseInteger(text) else {
            if let text = node.plainText, Self.isIntegerSyntax(text) {
                let bounds = range.map { " out of range \($0.lowerBound)..\($0.upperBound)" } ?? " out of range"
                report("\(name) \(text)\(bounds)", at: node, in: context)
                return nil
            }
            let isFraction = node.plainText.flatMap(Self.parseNumber) != nil
            let expected = isFraction ? "a whole number" : "a number"
            report("expected \(expected) for \(name), got \(node.described)", at: node, in: context)
            return nil
        }
        if let range, !range.contains(value) {
            report("\(name) \(text) out of range \(range.lowerBound)..\(range.upperBound)", at: node, in: context)
            return nil
        }
        return value
    }

    mutating func duration(
        _ node: Node, _ name: String, in context: String, minimum: Duration = .zero, maximum: Duration? = nil
    ) -> Duration? {
        guard case .scalar(let scalar) = node, !node.isNull else {
            report("expected a duration for \(name) (e.g. 500ms, 10s, 2m, 1h), got \(node.described)", at: node, in: context)
            return nil
        }
        let value: Duration
        switch DurationText.parseChecked(scalar.string) {
        case let .success(parsed): value = parsed
        case .failure(.notADuration):
            report("bad duration '\(scalar.string)' (use e.g. 500ms, 10s, 2m, 1h)", at: node, in: context)
            return nil
        case .failure(.tooLong):
            report("\(name) \(scalar.string) is above the maximum \(DurationText.format(DurationText.longest))", at: node, in: context)
            return nil
        }
        if value < minimum {
            let bound = DurationText.format(minimum)
            report("\(name) \(scalar.string) is below the minimum \(bound)", at: node, in: context)
            return nil
        }
        if let maximum, value > maximum {
            let bound = DurationText.format(maximum)
            report("\(name) \(scalar.string) is above the maximum \(bound)", at: node, in: context)
            return nil
        }
        return value
    }

    /// One of an enumeration's raw values.
    mutating func choice<T: RawRepresentable & CaseIterable>(
        _ node: Node, _ name: String, in context: String, as type: T.Type = T.self
    ) -> T? where T.RawValue == String {
        guard let text = string(node, name, in: context) else { return nil }
        guard let value = T(rawValue: text) else {
            let expected = T.allCases.map(\.rawValue).joined(separator: ", ")
            report("unknown \(name) '\(text)' (expected one of: \(expected))", at: node, in: context)
            return nil
        }
        return value
    }

    // MARK: The same, looked up by key in a mapping's entries (nil when the key is absent)

    mutating func string(_ key: String, of entries: Entries, allowEmpty: Bool = false) -> String? {
        entries[key].flatMap { string($0, key, in: entries.context, allowEmpty: allowEmpty) }
    }

    mutating func number(_ key: String, of entries: Entries) -> Double? {
        entries[key].flatMap { number($0, key, in: entries.context) }
    }

    mutating func integer(_ key: String, of entries: Entries, range: ClosedRange<Int>?) -> Int? {
        entries[key].flatMap { integer($0, key, in: entries.context, range: range) }
    }

    mutating func duration(
        _ key: String, of entries: Entries, minimum: Duration = .zero, maximum: Duration? = nil
    ) -> Duration? {
        entries[key].flatMap { duration($0, key, in: entries.context, minimum: minimum, maximum: maximum) }
    }

    mutating func choice<T: RawRepresentable & CaseIterable>(
        _ key: String, of entries: Entries, as type: T.Type = T.self
    ) -> T? where T.RawValue == String {
        entries[key].flatMap { choice($0, key, in: entries.context, as: type) }
    }

    // MARK: Number syntax

    /// Decimal or `0x` hexadecimal, with an optional sign. A leading zero does not mean octal.
    static func parseInteger(_ text: String) -> Int? {
        var digits = Substring(text)
        let negative = digits.first == "-"
        if digits.first == "-" || digits.first == "+" { digits = digits.dropFirst() }
        let magnitude: Int?
        if digits.hasPrefix("0x") || digits.hasPrefix("0X") {
            let hex = digits.dropFirst(2)
            magnitude = hex.allSatisfy(\.isHexDigit) ? Int(hex, radix: 16) : nil
        } else {
            magnitude = digits.allSatisfy { $0.isASCII && $0.isNumber } ? Int(digits) : nil
        }
        return magnitude.map { negative ? -$0 : $0 }
    }

    /// Whether `text` is written as `parseInteger` reads it, whatever its size.
    static func isIntegerSyntax(_ text: String) -> Bool {
        var digits = Substring(text)
        if digits.first == "-" || digits.first == "+" { digits = digits.dropFirst() }
        if digits.hasPrefix("0x") || digits.hasPrefix("0X") {
            let hex = digits.dropFirst(2)
            return !hex.isEmpty && hex.allSatisfy(\.isHexDigit)
        }
        return !digits.isEmpty && digits.allSatisfy { ("0"..."9").contains($0) }
    }

    /// A finite number; integers as for `parseInteger`.
    static func parseNumber(_ text: String) -> Double? {
        if let integer = parseInteger(text) { return Double(integer) }
        guard let value = Double(text), value.isFinite else { return nil }
        return value
    }
}

extension Node {
    /// The text of a plain, non-null scalar: numbers are never quoted.
    var plainText: String? {
        guard case .scalar(let scalar) = self, !isNull, scalar.style == .plain || scalar.style == .any else {
            return nil
        }
        return scalar.string
    }
}
