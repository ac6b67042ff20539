import Foundation

/// A user account made for a test with useradd and chpasswd (the tests run as root, as in CI):
/// a unique name, a password and a full name in its gecos; `remove()` deletes it.
public struct SystemUser: Sendable {
    public let name: String
    public let password: String
    public let fullName: String

    /// `groups` must exist (`SystemGroup`).
    public init(fullName: String = "Test Signer", groups: [String] = []) throws {
        name = "lgt" + String(UUID().uuidString.lowercased().filter(\.isHexDigit).prefix(12))
        password = "pw-" + UUID().uuidString
        self.fullName = fullName
        var arguments = ["--no-create-home", "--no-user-group", "--shell", "/usr/sbin/nologin", "--comment", "\(fullName),Room 1,,"]
        if !groups.isEmpty { arguments += ["--groups", groups.joined(separator: ",")] }
        try Self.run("/usr/sbin/useradd", arguments + [name])
        // chpasswd reads NAME:PASSWORD on its standard input.
        try Self.run("/bin/sh", ["-c", "printf '%s:%s\\n' \"$1\" \"$2\" | /usr/sbin/chpasswd", "sh", name, password])
    }

    public func remove() {
        _ = try? runCommand("/usr/sbin/userdel", [name])
    }

    static func run(_ executable: String, _ arguments: [String]) throws {
        let result = try runCommand(executable, arguments)
        guard result.status == 0 else {
            throw SystemAccountError("\(executable) \(arguments.joined(separator: " ")) failed (\(result.status)): \(result.err)")
        }
    }
}

/// A group made for a test (groupadd); `remove()` deletes it.
public struct SystemGroup: Sendable {
    public let name: String

    public init(prefix: String = "lgg") throws {
        name = prefix + String(UUID().uuidString.lowercased().filter(\.isHexDigit).prefix(12))
        try SystemUser.run("/usr/sbin/groupadd", [name])
    }

    public func remove() {
        _ = try? runCommand("/usr/sbin/groupdel", [name])
    }
}

public struct SystemAccountError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
