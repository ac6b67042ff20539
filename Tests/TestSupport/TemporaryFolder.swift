import Foundation

/// A folder of its own under the system's temporary directory, removed with everything in it
/// when the value is dropped.
public final class TemporaryFolder: Sendable {
    public let path: String

    /// `prefix` says in a listing of /tmp which tests left a folder behind (a crash, a kill).
    public init(_ prefix: String = "labgate-test") throws {
        path = NSTemporaryDirectory() + prefix + "-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// A path inside the folder.
    public func file(_ name: String) -> String { path + "/" + name }
}
