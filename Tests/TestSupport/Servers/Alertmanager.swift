import Foundation
import Glibc

/// Debian's prometheus-alertmanager for one test: its own port, config and storage, no cluster.
public final class Alertmanager {
    public let port = freePort()
    public let folder: TemporaryFolder
    private let process: ChildProcess

    public init() async throws {
        folder = try TemporaryFolder("labgate-alertmanager")
        let config = folder.file("alertmanager.yml")
        try "route:\n  receiver: none\nreceivers:\n  - name: none\n".write(toFile: config, atomically: true, encoding: .utf8)
        process = try ChildProcess(
            "/usr/bin/prometheus-alertmanager",
            [
                "--config.file=\(config)", "--storage.path=\(folder.file("data"))",
                "--web.listen-address=127.0.0.1:\(port)", "--cluster.listen-address=",
            ],
            folder: folder.path, name: "alertmanager", mergingErrors: true)
        try await eventually("Alertmanager to be ready", timeout: .seconds(30), interval: .milliseconds(100)) { [process, port] in
            guard process.isRunning else { throw SetupFailed("alertmanager exited: \(process.stdout)") }
            return httpGet(port: port, path: "/-/ready", timeout: 2)?.status == 200
        }
    }

    deinit {
        stop()
    }

    /// SIGKILL: its storage is the test's temporary folder.
    public func stop() {
        process.kill(SIGKILL)
        process.process.waitUntilExit()
    }

    /// GET /api/v2/alerts: the alerts it holds that are not resolved.
    public func alerts() -> [[String: Any]] {
        guard let reply = httpGet(port: port, path: "/api/v2/alerts", timeout: 5), reply.status == 200,
            let list = try? JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [[String: Any]]
        else { return [] }
        return list
    }
}
