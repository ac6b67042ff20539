import Foundation
import LabGate

/// What happens to which simulated device, and when (in simulated time), and how the simulated
/// I/O modules are set up.
///
/// ```yaml
/// io_modules:
///   - { device: IO-01, watchdog: 3s }
/// events:
///   - { at: 1m, device: INC-02, event: door_open, for: 3m }
///   - { at: 30s, device: INC-01, event: sensor_fault, channel: co2, for: 1m }
/// ```
public struct Scenario: Sendable, Hashable {
    /// In the order the file lists them.
    public var events: [ScenarioEvent]
    /// The communication watchdog of each I/O module the file names, by device id (nil: none);
    /// a module it does not name has `IOModuleOutputs.defaultWatchdog`.
    public var watchdogs: [String: Duration?]

    public init(events: [ScenarioEvent] = [], watchdogs: [String: Duration?] = [:]) {
        self.events = events
        self.watchdogs = watchdogs
    }

    /// The watchdog time of I/O module `device` (nil: it has none).
    public func watchdog(of device: String) -> Duration? {
        if let configured = watchdogs[device] { return configured }
        return IOModuleOutputs.defaultWatchdog
    }

    /// Reads and checks the scenario file at `path` against the devices of `config`.
    public static func load(path: String, config: Config) throws(ScenarioError) -> Scenario {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ScenarioError(file: path, location: nil, message: "cannot read scenario: \(Self.reason(error))")
        }
        return try parse(yaml: text, file: path, config: config)
    }

    /// Checks scenario `yaml` (read from `file`, for messages) against the devices of `config`.
    public static func parse(yaml: String, file: String, config: Config) throws(ScenarioError) -> Scenario {
        try ScenarioParser(file: file, config: config).parse(yaml: yaml)
    }

    private static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return nsError.localizedDescription
    }
}
