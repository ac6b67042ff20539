import Foundation
import LabGateDaemon
import Testing

/// The repository root, found from this file's path.
private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// Runs a command to its end: its status, and its stdout and stderr as one text.
private func run(_ command: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (Int32, String) {
    let result = try runCommand(command, arguments, environment: environment, mergingErrors: true)
    return (result.status, result.out)
}

private let analyze = "/usr/bin/systemd-analyze"

@Suite("the systemd unit and the installer")
struct ServiceFilesTests {
    /// The folder of the binaries just built.
    private var built: String { URL(fileURLWithPath: Harness.binary).deletingLastPathComponent().path }

    /// The unit as installed, pointing at the binaries just built.
    private func unitCopy(_ folder: TemporaryFolder) throws -> String {
        let unit = try String(contentsOfFile: root + "/systemd/labgate.service", encoding: .utf8)
            .replacingOccurrences(of: "/usr/local/bin/", with: built + "/")
        let path = folder.path + "/labgate.service"
        try unit.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("systemd-analyze verify finds nothing to say about the unit", .enabled(if: FileManager.default.fileExists(atPath: analyze)))
    func verifies() throws {
        let folder = try TemporaryFolder("labgate-files")
        let (status, output) = try run(analyze, ["verify", try unitCopy(folder)])
        #expect(status == 0)
        #expect(output == "")
    }

    @Test("the unit runs the daemon binary, labgated, after the tool has checked the config")
    func runsTheDaemon() throws {
        let lines = try String(contentsOfFile: root + "/systemd/labgate.service", encoding: .utf8).split(separator: "\n")
        #expect(lines.contains("ExecStart=/usr/local/bin/labgated --config /etc/labgate/labgate.yaml"))
        #expect(lines.contains("ExecStartPre=/usr/local/bin/labgate check-config /etc/labgate/labgate.yaml"))
    }

    @Test("the unit gives the daemon more descriptors than the control socket's and the HTTP listener's caps can take")
    func descriptorLimit() throws {
        let lines = try String(contentsOfFile: root + "/systemd/labgate.service", encoding: .utf8).split(separator: "\n")
        let limit = try #require(lines.first { $0.hasPrefix("LimitNOFILE=") }.flatMap { Int($0.dropFirst("LimitNOFILE=".count)) })
        #expect(limit >= ConnectionLimits().total + HTTPServer.defaultLimits.total + 1024)
    }

    @Test("the unit's security exposure is 2.0 or lower", .enabled(if: FileManager.default.fileExists(atPath: analyze)))
    func exposure() throws {
        let folder = try TemporaryFolder("labgate-files")
        let (status, output) = try run(analyze, ["security", "--offline=true", "--threshold=20", try unitCopy(folder)])
        #expect(status == 0, "\(output.split(separator: "\n").suffix(3))")
        #expect(output.contains("Overall exposure level for labgate.service: 1."))
    }

    @Test("install puts every file in place and keeps an existing config; uninstall keeps config and data")
    func installAndUninstall() throws {
        let dest = try TemporaryFolder("labgate-files")
        let environment = ["DESTDIR": dest.path, "LABGATE_BINARIES": built]
        var (status, output) = try run(root + "/scripts/install", [], environment: environment)
        #expect(status == 0, "\(output)")
        let installed = [
            "/usr/local/bin/labgated", "/usr/local/bin/labgate", "/etc/systemd/system/labgate.service",
            "/etc/sysusers.d/labgate.conf", "/etc/tmpfiles.d/labgate.conf", "/etc/udev/rules.d/60-labgate-rs485.rules", "/etc/logrotate.d/labgate",
            "/etc/labgate/labgate.yaml",
        ]
        for file in installed {
            #expect(FileManager.default.fileExists(atPath: dest.path + file), "\(file)")
        }
        #expect(FileManager.default.isExecutableFile(atPath: dest.path + "/usr/local/bin/labgated"))
        #expect(FileManager.default.isExecutableFile(atPath: dest.path + "/usr/local/bin/labgate"))

        let config = dest.path + "/etc/labgate/labgate.yaml"
        try "site: edited by the admin\n".write(toFile: config, atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: dest.path + "/var/lib/labgate", withIntermediateDirectories: true)
        try "data".write(toFile: dest.path + "/var/lib/labgate/labgate.sqlite", atomically: true, encoding: .utf8)
        (status, output) = try run(root + "/scripts/install", [], environment: environment)
        #expect(status == 0)
        #expect(try String(contentsOfFile: config, encoding: .utf8) == "site: edited by the admin\n", "an upgrade keeps the site's config")

        (status, output) = try run(root + "/scripts/uninstall", [], environment: environment)
        #expect(status == 0, "\(output)")
        for file in installed.dropLast() {
            #expect(!FileManager.default.fileExists(atPath: dest.path + file), "\(file) removed")
        }
        #expect(FileManager.default.fileExists(atPath: config))
        #expect(FileManager.default.fileExists(atPath: dest.path + "/var/lib/labgate/labgate.sqlite"))
    }

    @Test("the shipped site template passes check-config")
    func templateIsValid() throws {
        let (status, output) = try run(Harness.binary, ["check-config", root + "/config/labgate.yaml"])
        #expect(status == 0, "\(output)")
        let (exampleStatus, _) = try run(Harness.binary, ["check-config", root + "/config/example.yaml"])
        #expect(exampleStatus == 0)
    }
}
