import Modbus

/// The resolution a value was measured at, from the field that decoded it: an integer register
/// scaled by 0.01 carries two decimals (502 × 0.01 is 5.02, never 5.0200000000000005); a float32
/// carries what its shortest decimal form says (37.01226, not the 37.01226043701172 of the
/// double it was widened to).
public enum ValueResolution: Sendable, Hashable, Codable {
    case decimals(Int)
    case float32

    /// The most decimals a scale or offset is taken to have (beyond, doubles say nothing true).
    static let maxDecimals = 12

    public init(type: RegisterType, scale: Double, offset: Double) {
        if type == .float32 {
            self = .float32
        } else {
            self = .decimals(max(Self.decimals(of: scale), Self.decimals(of: offset)))
        }
    }

    /// Digits after the decimal point in the shortest text of `number` (0.01 → 2, 2.5e-05 → 6).
    static func decimals(of number: Double) -> Int {
        guard number.isFinite, number != number.rounded() else { return 0 }
        let text = String(number.magnitude)
        var exponent = 0
        var mantissa = Substring(text)
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...]) ?? 0
            mantissa = text[..<e]
        }
        let fraction = mantissa.firstIndex(of: ".").map { mantissa.distance(from: $0, to: mantissa.endIndex) - 1 } ?? 0
        let trimmed = mantissa.hasSuffix(".0") ? 0 : fraction
        return min(max(trimmed - exponent, 0), maxDecimals)
    }

    /// A finer resolution for a figure computed from values (a mean): one more decimal.
    public var derived: ValueResolution {
        switch self {
        case let .decimals(n): .decimals(min(n + 1, Self.maxDecimals))
        case .float32: .float32
        }
    }

    /// The value as text at this resolution ("5.02", "37.01226"); NaN and infinities as Swift
    /// writes them.
    public func text(_ value: Double) -> String {
        guard value.isFinite else { return String(value) }
        switch self {
        case .float32:
            return Float(value).description
        case let .decimals(n):
            let power = Self.powers[n]
            let scaled = (value * power).rounded()
            guard scaled.magnitude < 9e15 else { return String(value) }
            let units = Int64(scaled)
            var digits = String(units.magnitude)
            guard n > 0 else { return (units < 0 ? "-" : "") + digits }
            if digits.count <= n { digits = String(repeating: "0", count: n + 1 - digits.count) + digits }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -n))
            return (units < 0 ? "-" : "") + digits
        }
    }

    /// The double closest to the value as written at this resolution, so that JSON (which writes
    /// the shortest text of a double) shows 5.02 and 37.01226.
    public func rounded(_ value: Double) -> Double {
        guard value.isFinite else { return value }
        switch self {
        case .float32:
            return Double(Float(value).description) ?? value
        case let .decimals(n):
            let power = Self.powers[n]
            let scaled = (value * power).rounded()
            return scaled.magnitude < 9e15 ? scaled / power : value
        }
    }

    private static let powers: [Double] = (0...maxDecimals).map { pow10($0) }

    private static func pow10(_ n: Int) -> Double {
        var result = 1.0
        for _ in 0..<n { result *= 10 }
        return result
    }

    /// The step between two values ("0.01", "1"), or "float32": how the report names it, and
    /// how it is written in JSON.
    public var description: String {
        switch self {
        case .float32: "float32"
        case .decimals(0): "1"
        case let .decimals(n): "0." + String(repeating: "0", count: n - 1) + "1"
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        if text == "float32" {
            self = .float32
        } else if text == "1" {
            self = .decimals(0)
        } else if text.hasPrefix("0."), text.hasSuffix("1") {
            self = .decimals(text.count - 2)
        } else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "resolution \(text)"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
