import Foundation
import LabGate
import Testing

@Suite("Config loader: valid files")
struct ConfigLoaderTests {
    let config: Config

    init() throws {
        config = try ConfigLoader.parse(yaml: ConfigFixtures.full, file: "lab.yaml")
    }

    @Test("The file name, site, store and alert folder are read as written") func topLevelValues() {
        #expect(config.file == "lab.yaml")
        #expect(config.site == "cell-therapy-unit-1")
        #expect(config.store == ".labgate/labgate.sqlite")
        #expect(config.alerts == ".labgate")
    }

    @Test("Buses keep file order with their transport and where they are written") func busesInFileOrderWithTransportAndLocation() {
        #expect(config.buses.map(\.id) == ["sim", "lan"])
        #expect(config.bus("sim")?.transport == .tcp(host: "127.0.0.1", port: 15020))
        #expect(config.bus("lan")?.transport == .tcp(host: "192.0.2.10", port: 502))
        #expect(config.bus("lan")?.location == LabGate.SourceLocation(file: "lab.yaml", line: 7, column: 5))
    }

    @Test("A device with every key keeps each value") func deviceWithEveryKey() throws {
        #expect(config.devices.map(\.id) == ["INC-01", "FRZ-01", "LN2-01"])
        let device = try #require(config.device("INC-01"))
        #expect(device.kind == .incubator)
        #expect(device.bus == "sim")
        #expect(device.unit == 1)
        #expect(device.profile == "sim-incubator")
        #expect(device.every == .seconds(2))
        #expect(device.spec == "msc-culture")
        #expect(device.timeout == .milliseconds(500))
        #expect(device.retries == 2)
        #expect(device.unreachableAfter == 5)
        #expect(device.location == LabGate.SourceLocation(file: "lab.yaml", line: 10, column: 5))
        let equipment = try #require(device.limits["temperature"])
        #expect(equipment.low == ChannelLimits.Bound(value: 35, delay: .seconds(60), source: "equipment"))
        #expect(equipment.high == ChannelLimits.Bound(value: 39, delay: .seconds(60), source: "equipment"))
        #expect(equipment.criticalLow == 30)
        #expect(equipment.criticalHigh == 40)
    }

    @Test("A device without optional keys takes the defaults") func deviceDefaults() throws {
        let device = try #require(config.device("FRZ-01"))
        #expect(device.kind == .freezer)
        #expect(device.every == .seconds(10))
        #expect(device.spec == nil)
        #expect(device.limits.isEmpty)
        #expect(device.timeout == .seconds(1))
        #expect(device.retries == 1)
        #expect(device.unreachableAfter == 3)
        #expect(device.location?.line == 22)
        let tank = try #require(config.device("LN2-01"))
        #expect(tank.kind == .ln2Tank)
        #expect(tank.unit == 255)
        #expect(tank.every == .seconds(60))
    }

    @Test("A profile's fields keep file order and the defaults of keys left out") func profileFieldsKeepFileOrderAndDefaults() throws {
        let profile = try #require(config.profiles["sim-incubator"])
        #expect(profile.name == "sim-incubator")
        #expect(profile.fields.map(\.channel) == ["temperature", "co2", "door"])

        let temperature = try #require(profile.field("temperature"))
        #expect(temperature.table == .input)
        #expect(temperature.address == 0)
        #expect(temperature.type.rawValue == "float32")
        #expect(temperature.order.rawValue == "CDAB")
        #expect(temperature.unit == "°C")
        #expect(temperature.location == LabGate.SourceLocation(file: "lab.yaml", line: 26, column: 5))

        let co2 = try #require(profile.field("co2"))
        #expect(co2.type.rawValue == "int16")
        #expect(co2.order.rawValue == "AB")  // the 16-bit default
        #expect(co2.scale == 0.01)
        #expect(co2.invalid == [-32768])
        #expect(co2.unit == "%")

        let door = try #require(profile.field("door"))
        #expect(door.table == .holding)
        #expect(door.scale == 1)
        #expect(door.offset == 0)
        #expect(door.unit == "")
        #expect(door.invalid.isEmpty)

        let freezer = try #require(config.profiles["sim-ult-freezer"]?.field("temperature"))
        #expect(freezer.address == 16)  // written as 0x10
        #expect(freezer.offset == -0.5)
    }

    @Test("A spec's limits name the spec as their source") func specsCarryTheirNameAsSource() throws {
        let spec = try #require(config.specs["msc-culture"])
        let co2 = try #require(spec.limits["co2"])
        #expect(co2.low == ChannelLimits.Bound(value: 4.5, delay: .seconds(15 * 60), source: "spec msc-culture"))
        #expect(co2.high?.value == 5.5)
        #expect(co2.criticalLow == nil)
        #expect(co2.criticalHigh == nil)
        let ln2 = try #require(config.specs["ln2-storage"]?.limits["temperature"])
        #expect(ln2.low == nil)
        #expect(ln2.high == ChannelLimits.Bound(value: -150, delay: .seconds(300), source: "spec ln2-storage"))
    }

    @Test("The limits in force are the tightest of the spec and the equipment limits") func effectiveLimitsAreTheTightestOfSpecAndEquipment() throws {
        let incubator = try #require(config.device("INC-01"))
        let temperature = try #require(LimitsInForce(config: config, device: incubator, channel: "temperature", lots: []).device)
        #expect(temperature.low == ChannelLimits.Bound(value: 36, delay: .seconds(600), source: "spec msc-culture"))
        #expect(temperature.high == ChannelLimits.Bound(value: 38, delay: .seconds(600), source: "spec msc-culture"))
        #expect(temperature.criticalLow == 30)  // only the equipment sets one
        #expect(temperature.criticalHigh == 39)  // the spec's 39 is tighter than the equipment's 40
        #expect(LimitsInForce(config: config, device: incubator, channel: "co2", lots: []).device?.low?.value == 4.5)
        #expect(LimitsInForce(config: config, device: incubator, channel: "door", lots: []).device == nil)

        let freezer = try #require(config.device("FRZ-01"))
        #expect(LimitsInForce(config: config, device: freezer, channel: "temperature", lots: []).device == nil)
        let tank = try #require(config.device("LN2-01"))
        #expect(LimitsInForce(config: config, device: tank, channel: "temperature", lots: []).device?.high?.source == "spec ln2-storage")
    }

    @Test("The base config the error tests change is itself valid") func baseFixtureIsValid() throws {
        let base = try ConfigLoader.parse(yaml: ConfigFixtures.base, file: "lab.yaml")
        #expect(base.devices.map(\.id) == ["INC-01", "FRZ-01"])
    }

    @Test("Optional keys left empty take their defaults") func optionalKeysLeftEmptyTakeTheirDefaults() throws {
        let yaml = ConfigFixtures.base(replacing: "    spec: msc-culture\n", with: "    spec:\n    timeout:\n")
        let device = try #require(try ConfigLoader.parse(yaml: yaml, file: "lab.yaml").device("INC-01"))
        #expect(device.spec == nil)
        #expect(device.timeout == .seconds(1))
    }
}

@Suite("Config loader: files")
struct ConfigFileTests {
    @Test("A config file is loaded and named by its path") func loadsAFileAndNamesIt() throws {
        let folder = try TemporaryFolder("labgate-config")
        let path = folder.file("labgate.yaml")
        try ConfigFixtures.full.write(toFile: path, atomically: true, encoding: .utf8)

        let config = try ConfigLoader.load(path: path)
        #expect(config.file == path)
        #expect(config.device("INC-01")?.location?.file == path)
        #expect(config.devices.count == 3)
    }

    @Test("Errors in a file carry the file's path") func errorsInAFileNameThePath() throws {
        let folder = try TemporaryFolder("labgate-config")
        let path = folder.file("labgate.yaml")
        let yaml = ConfigFixtures.base(replacing: "every: 2s", with: "every: soon")
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)

        #expect(throws: ConfigErrors.self) { try ConfigLoader.load(path: path) }
        do {
            _ = try ConfigLoader.load(path: path)
        } catch {
            #expect(error.errors.map(\.description) == [
                "\(path):13:12: device INC-01: bad duration 'soon' (use e.g. 500ms, 10s, 2m, 1h)"
            ])
        }
    }

    @Test("A missing file is one error at its first line") func missingFileIsOneErrorAtItsFirstLine() {
        let path = "/nonexistent-labgate/labgate.yaml"
        do {
            _ = try ConfigLoader.load(path: path)
            Issue.record("a missing file was accepted")
        } catch {
            #expect(error.errors.map(\.description) == [
                "/nonexistent-labgate/labgate.yaml:1:1: cannot read config file: no such file or directory"
            ])
        }
    }

    @Test("A folder is not taken for a config file") func folderIsNotAConfigFile() throws {
        let folder = try TemporaryFolder("labgate-config")
        do {
            _ = try ConfigLoader.load(path: folder.path)
            Issue.record("a folder was accepted")
        } catch {
            #expect(error.errors.count == 1)
            #expect(error.errors.first?.message == "cannot read config file: is a directory")
        }
    }
}
