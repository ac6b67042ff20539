import Yams

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads and validates a YAML config file. Every problem is reported at once, each as
/// `FILE:LINE:COL: message`, so `labgate check-config` can show an admin everything to fix.
public enum ConfigLoader {
    /// Loads the file at `path`; a file that cannot be read is one error at `path:1:1`.
    public static func load(path: String) throws(ConfigErrors) -> Config {
        switch readText(path: path) {
        case .success(let text):
            return try parse(yaml: text, file: path)
        case .failure(let problem):
            let location = SourceLocation(file: path, line: 1, column: 1)
            throw ConfigErrors([ConfigError(location: location, message: "cannot read config file: \(problem.reason)")])
        }
    }

    /// Parses `yaml`; `file` is only used to name locations in errors and in the result.
    public static func parse(yaml: String, file: String) throws(ConfigErrors) -> Config {
        let root: Node?
        do {
            // The basic resolver leaves every scalar a string: the reader parses numbers, bools
            // and durations itself, and Yams's default resolver runs regular expressions on every
            // scalar each time a key is hashed or compared (70 % of loading a 250-device config).
            root = try Yams.compose(yaml: yaml, .basic)
        } catch {
            throw ConfigErrors([syntaxError(error, yaml: yaml, file: file)])
        }
        guard let root else {
            let expected = ConfigReader.requiredTopKeys.joined(separator: ", ")
            let location = SourceLocation(file: file, line: 1, column: 1)
            throw ConfigErrors([ConfigError(location: location, message: "the file is empty (expected keys: \(expected))")])
        }
        var reader = ConfigReader(file: file)
        guard let config = reader.read(root) else {
            assert(!reader.errors.isEmpty, "a config was refused without a reason")
            throw ConfigErrors(reader.errors, mainFile: file)
        }
        return config
    }

    // MARK: YAML syntax errors

    /// A Yams error as a config error at the line and column libyaml names.
    static func syntaxError(_ error: any Error, yaml: String, file: String) -> ConfigError {
        func at(_ line: Int, _ column: Int, _ message: String) -> ConfigError {
            ConfigError(location: SourceLocation(file: file, line: line, column: column), message: message)
        }
        guard let error = error as? YamlError else {
            return at(1, 1, "cannot parse yaml: \(error)")
        }
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            return at(mark.line, mark.column, "yaml syntax error: " + describe(problem: problem, context: context))
        case .reader(let problem, let offset, _, _):
            let (line, column) = offset.map { position(ofCharacter: $0, in: yaml) } ?? (1, 1)
            return at(line, column, "cannot read yaml: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return at(context.mark.line, context.mark.column, "duplicate key \(keys) in one mapping")
        default:
            return at(1, 1, "cannot parse yaml: \(error)")
        }
    }

    /// libyaml's problem with its context: "did not find expected ',' or ']' (while parsing a flow
    /// sequence at line 1, column 4)", plus a hint for its most puzzling message.
    private static func describe(problem: String, context: YamlError.Context?) -> String {
        var text = problem
        if let context {
            let place = "line \(context.mark.line), column \(context.mark.column)"
            text = problem.hasPrefix("but ")
                ? "\(context.text) at \(place), \(problem)" : "\(problem) (\(context.text) at \(place))"
        }
        if problem == "mapping values are not allowed in this context" {
            text += " (check the indentation, or quote a value that holds ': ')"
        }
        return text
    }

    /// 1-based line and column (in Unicode scalars, as libyaml counts) of a character offset.
    private static func position(ofCharacter offset: Int, in text: String) -> (line: Int, column: Int) {
        let end = text.index(text.startIndex, offsetBy: offset, limitedBy: text.endIndex) ?? text.endIndex
        let before = text[..<end]
        let line = before.count { $0 == "\n" } + 1
        let lineStart = before.lastIndex(of: "\n").map { before.index(after: $0) } ?? before.startIndex
        return (line, before[lineStart...].unicodeScalars.count + 1)
    }

    // MARK: Reading the file

    struct ReadProblem: Error {
        var reason: String
    }

    static func readText(path: String) -> Result<String, ReadProblem> {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return .failure(ReadProblem(reason: describe(errno: errno))) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(ReadProblem(reason: describe(errno: errno)))
            }
            bytes.append(contentsOf: buffer[..<count])
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            return .failure(ReadProblem(reason: "not valid UTF-8 text"))
        }
        return .success(text)
    }

    /// "no such file or directory": the C library's words, lowercased like our other messages.
    private static func describe(errno code: Int32) -> String {
        let text = String(cString: strerror(code))
        return text.prefix(1).lowercased() + text.dropFirst()
    }
}
