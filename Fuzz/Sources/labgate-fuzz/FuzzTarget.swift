import Foundation
import LabGate
import LabGateSim

/// What one run of the fuzzer feeds its inputs to, named by LABGATE_FUZZ_TARGET. Every input
/// must come back as a value or an error: a trap, a crash or a hang is what the fuzzer reports.
enum FuzzTarget: String, CaseIterable {
    /// `labgate check-config` and the daemon's start and reload: YAML from an admin.
    case config
    /// `labgate sim --scenario`: YAML from whoever writes test scenarios.
    case scenario
    /// The control socket's request bodies: JSON from any local user with a role.
    case control

    static let selected: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["LABGATE_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            let known = allCases.map(\.rawValue).joined(separator: ", ")
            FileHandle.standardError.write(Data("LABGATE_FUZZ_TARGET must be one of: \(known)\n".utf8))
            exit(2)
        }
        return target
    }()

    /// A valid config for the scenario parser to check device names and kinds against.
    static let scenarioConfig: Config = {
        let path = ProcessInfo.processInfo.environment["LABGATE_FUZZ_CONFIG"] ?? "config/example.yaml"
        do {
            return try ConfigLoader.load(path: path)
        } catch {
            FileHandle.standardError.write(Data("cannot load \(path) for the scenario target: \(error)\n".utf8))
            exit(2)
        }
    }()

    func run(_ data: Data) {
        switch self {
        case .config:
            _ = try? ConfigLoader.parse(yaml: String(decoding: data, as: UTF8.self), file: "fuzz.yaml")
        case .scenario:
            _ = try? Scenario.parse(yaml: String(decoding: data, as: UTF8.self), file: "fuzz.yaml", config: Self.scenarioConfig)
        case .control:
            // As the control server decodes them (Hummingbird's default, a JSONDecoder), each route's body.
            let decoder = JSONDecoder()
            _ = try? decoder.decode(ControlAPI.StartLot.self, from: data)
            _ = try? decoder.decode(ControlAPI.MoveLot.self, from: data)
            _ = try? decoder.decode(ControlAPI.EndLot.self, from: data)
            if let correction = try? decoder.decode(ControlAPI.CorrectLot.self, from: data), let at = correction.at {
                _ = UTCTime.parse(at)
            }
            _ = try? decoder.decode(ControlAPI.Acknowledge.self, from: data)
            _ = try? decoder.decode(ControlAPI.Close.self, from: data)
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    FuzzTarget.selected.run(Data(bytes: bytes, count: count))
    return 0
}
