import Foundation
import LabGate
import LabGateSim
import Testing

@Suite("Scenario files")
struct ScenarioTests {
    let config = TestConfig.make()

    func parse(_ yaml: String) throws(ScenarioError) -> Scenario {
        try Scenario.parse(yaml: yaml, file: "scenario.yaml", config: config)
    }

    /// The error `yaml` gives, as text.
    func error(_ yaml: String) -> String {
        do {
            _ = try parse(yaml)
            return "no error"
        } catch {
            return error.description
        }
    }

    /// `line:column` (1-based) of the first `needle` in `yaml`, found independently of Yams.
    func position(of needle: String, in yaml: String, line wanted: Int? = nil) -> String {
        for (number, line) in yaml.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where wanted == nil || wanted == number + 1 {
            if let range = line.range(of: needle) {
                return "\(number + 1):\(line.distance(from: line.startIndex, to: range.lowerBound) + 1)"
            }
        }
        return "not found"
    }

    @Test("the documented example parses")
    func example() throws {
        let scenario = try parse("""
            events:
              - { at: 1m, device: INC-02, event: door_open, for: 3m }
              - { at: 30s, device: INC-01, event: sensor_fault, channel: co2, for: 1m }
              - at: 1h
                device: FRZ-01
                event: compressor_failure
              - { at: 2m, device: LN2-01, event: fill_missed }
              - { at: 0, device: INC-01, event: exception, code: 0x0B, for: 500ms }
              - { at: 10s, device: FRG-01, event: silent, for: 1m30s }
              - { at: 5m, device: INC-02, event: co2_supply_empty }
            """)
        #expect(scenario.events.map(\.kind) == [
            .doorOpen, .sensorFault(channel: "co2"), .compressorFailure, .fillMissed, .exception(code: 11), .silent,
            .co2SupplyEmpty,
        ])
        let first = scenario.events[0]
        #expect(first.at == .seconds(60))
        #expect(first.device == "INC-02")
        #expect(first.duration == .seconds(180))
        #expect(first.end == .seconds(240))
        #expect(first.location == SourceLocation(file: "scenario.yaml", line: 2, column: 5))
        #expect(scenario.events[2].duration == nil)
        #expect(scenario.events[2].at == .seconds(3600))
        #expect(scenario.events[4].at == .zero)
        #expect(scenario.events[4].duration == .milliseconds(500))
        #expect(scenario.events[5].duration == .seconds(90))
    }

    @Test("a transient exception: 'every: N' with the code")
    func transientException() throws {
        let scenario = try parse("events:\n  - { at: 0s, device: INC-01, event: exception, code: 6, every: 3, for: 1m }\n")
        let event = try #require(scenario.events.first)
        #expect(event.kind == .exception(code: 6))
        #expect(event.every == 3)
        #expect(event.summary == "exception 6 every 3 requests for 1m")
        #expect(try parse("events:\n  - { at: 0s, device: INC-01, event: exception, code: 6 }\n").events.first?.every == nil)
    }

    @Test("an empty file or an empty list is an empty scenario")
    func empty() throws {
        #expect(try parse("").events.isEmpty)
        #expect(try parse("events: []").events.isEmpty)
        #expect(try parse("events:\n").events.isEmpty)
    }

    @Test("an unknown device is reported at its line and column")
    func unknownDevice() {
        let yaml = """
            events:
              - { at: 1m, device: INC-02, event: door_open, for: 3m }
              - { at: 1m, device: INC-09, event: door_open }
            """
        #expect(error(yaml).hasPrefix("scenario.yaml:3:23: unknown device 'INC-09'"), "\(error(yaml))")
        #expect(position(of: "INC-09", in: yaml) == "3:23")
    }

    @Test("each kind of mistake names file, line and column", arguments: [
        // (yaml, the text the error points at, the message's start)
        ("events:\n  - { at: 1m, device: INC-01, event: door_opne }", "door_opne", "unknown event 'door_opne'"),
        ("events:\n  - { at: 1m, device: INC-01, event: sensor_fault, channel: o2 }", "o2", "unknown channel 'o2' for INC-01"),
        ("events:\n  - { at: 1x, device: INC-01, event: door_open }", "1x", "bad duration '1x' for 'at'"),
        ("events:\n  - { at: 1m, device: INC-01, event: door_open, for: soon }", "soon", "bad duration 'soon' for 'for'"),
        ("events:\n  - { at: 1m, device: INC-01, event: door_open, for: 0s }", "0s", "'for' must be longer than zero"),
        ("events:\n  - { at: 1m, device: INC-01, event: door_open, fro: 3m }", "fro", "unknown key 'fro'"),
        ("events:\n  - at: 1m\n    device: INC-01\n    evnt: door_open", "evnt", "unknown key 'evnt'"),
        ("events:\n  - { at: 1m, event: door_open }", "{", "missing key 'device'"),
        ("events:\n  - device: INC-01\n    event: door_open", "device", "missing key 'at'"),
        ("events:\n  - { at: 1m, device: INC-01, event: sensor_fault }", "{", "missing key 'channel'"),
        ("events:\n  - { at: 1m, device: INC-01, event: exception }", "{", "missing key 'code'"),
        ("events:\n  - { at: 1m, device: INC-01, event: exception, code: 300 }", "300", "bad exception code '300'"),
        ("events:\n  - { at: 1m, device: INC-01, event: door_open, channel: co2 }", "channel", "key 'channel' applies only to event sensor_fault"),
        ("events:\n  - { at: 1m, device: INC-01, event: door_open, every: 2 }", "every", "key 'every' applies only to event exception"),
        ("events:\n  - { at: 1m, device: INC-01, event: exception, code: 6, every: 0 }", "0 }", "bad 'every' '0'"),
        ("events:\n  - { at: 1m, device: INC-01, event: exception, code: 6, every: half }", "half", "bad 'every' 'half'"),
        ("events:\n  - { at: 1m, device: INC-01, event: fill_missed }", "fill_missed", "event 'fill_missed' does not apply to INC-01"),
        ("events:\n  - { at: 1m, device: FRZ-01, event: co2_supply_empty }", "co2_supply_empty", "event 'co2_supply_empty' does not apply"),
        ("evnts:\n  - { at: 1m, device: INC-01, event: door_open }", "evnts", "unknown key 'evnts'"),
        ("events:\n  - door_open", "door_open", "an event is a mapping"),
        ("events: { at: 1m }", "{", "'events' is a list of events"),
    ])
    func mistakes(yaml: String, at needle: String, message: String) {
        let expected = "scenario.yaml:\(position(of: needle, in: yaml)): \(message)"
        let got = error(yaml)
        #expect(got.hasPrefix(expected), "expected \(expected), got \(got)")
    }

    @Test("a YAML syntax error points at its position")
    func syntax() {
        let got = error("events:\n  - { at: 1m, device: INC-01\n")
        #expect(got.hasPrefix("scenario.yaml:3:"), "\(got)")
        #expect(got.contains("invalid YAML"))
        let duplicate = error("events:\n  - { at: 1m, at: 2m, device: INC-01, event: door_open }")
        #expect(duplicate.hasPrefix("scenario.yaml:2:"), "\(duplicate)")
        #expect(duplicate.contains("duplicate key 'at'"), "\(duplicate)")
    }

    @Test("load reads a file and names it in errors")
    func load() throws {
        let directory = try TemporaryFolder("labgate-sim")
        let good = directory.file("good.yaml")
        try "events:\n  - { at: 1m, device: INC-02, event: door_open, for: 3m }\n".write(toFile: good, atomically: true, encoding: .utf8)
        #expect(try Scenario.load(path: good, config: config).events.count == 1)

        let bad = directory.file("bad.yaml")
        try "events:\n  - { at: 1m, device: NOPE, event: door_open }\n".write(toFile: bad, atomically: true, encoding: .utf8)
        #expect(throws: ScenarioError.self) { try Scenario.load(path: bad, config: config) }
        do {
            _ = try Scenario.load(path: bad, config: config)
        } catch {
            #expect(error.description.hasPrefix("\(bad):2:23: unknown device 'NOPE'"), "\(error)")
        }

        let missing = directory.file("missing.yaml")
        do {
            _ = try Scenario.load(path: missing, config: config)
            Issue.record("loaded a missing file")
        } catch {
            #expect(error.description.hasPrefix("\(missing): cannot read scenario"), "\(error)")
            #expect(error.location == nil)
        }
    }
}
