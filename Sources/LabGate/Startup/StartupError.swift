import Foundation

/// A reason the daemon cannot start, worded for the admin: it names the path or item at fault.
public struct StartupError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }

    /// Fails unless the folder that will hold `path` exists and this process may write in it.
    package static func checkWritableFolder(of path: String, what: String) throws(StartupError) {
        try checkWritableFolder((path as NSString).deletingLastPathComponent, what: what, forFile: path)
    }

    package static func checkWritableFolder(_ folder: String, what: String, forFile file: String? = nil) throws(StartupError) {
        let folder = folder.isEmpty ? "." : folder
        var isFolder: ObjCBool = false
        let target = file.map { " for \($0)" } ?? ""
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) else {
            throw StartupError("\(what) folder \(folder)\(target) does not exist")
        }
        guard isFolder.boolValue else { throw StartupError("\(what) path \(folder) is not a folder") }
        guard access(folder, W_OK | X_OK) == 0 else {
            throw StartupError("\(what) folder \(folder)\(target) is not writable by this user")
        }
    }
}
