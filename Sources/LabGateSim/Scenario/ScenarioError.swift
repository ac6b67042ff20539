import LabGate

/// A problem in a scenario file, described as `FILE:LINE:COL: message`.
public struct ScenarioError: Error, Sendable, Hashable, CustomStringConvertible {
    public var file: String
    /// Where in the file; nil when the file could not be read at all.
    public var location: SourceLocation?
    public var message: String

    public init(file: String, location: SourceLocation?, message: String) {
        self.file = file
        self.location = location
        self.message = message
    }

    public init(at location: SourceLocation, _ message: String) {
        self.init(file: location.file, location: location, message: message)
    }

    public var description: String {
        "\(location.map(\.description) ?? file): \(message)"
    }
}
