/// One problem in a config file, at the place an admin has to fix it.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var location: SourceLocation
    public var message: String

    public init(location: SourceLocation, message: String) {
        self.location = location
        self.message = message
    }

    /// `FILE:LINE:COL: message`, the form editors and CI logs link to.
    public var description: String { "\(location): \(message)" }
}

/// Every problem found in one pass over a config file.
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    /// Grouped by file (in the order the files were read: the config, then its profile files),
    /// then sorted by line and column; problems at the same place keep the order they were found in.
    public var errors: [ConfigError]

    /// `mainFile` (the config) comes first whatever the order problems were found in.
    public init(_ errors: [ConfigError], mainFile: String? = nil) {
        var fileRank: [String: Int] = [:]
        if let mainFile { fileRank[mainFile] = 0 }
        for error in errors where fileRank[error.location.file] == nil {
            fileRank[error.location.file] = fileRank.count
        }
        self.errors = errors.enumerated()
            .sorted { a, b in
                let left = (fileRank[a.element.location.file]!, a.element.location.line, a.element.location.column, a.offset)
                let right = (fileRank[b.element.location.file]!, b.element.location.line, b.element.location.column, b.offset)
                return left < right
            }
            .map(\.element)
    }

    /// One error per line.
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
