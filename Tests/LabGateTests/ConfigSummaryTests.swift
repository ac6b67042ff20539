import LabGate
import LabGateClient
import Testing

@Suite("Config summary")
struct ConfigSummaryTests {
    @Test("The summary names the site, the store, every bus with its address and every device") func mentionsEveryBusAndDevice() throws {
        let config = try ConfigLoader.parse(yaml: ConfigFixtures.full, file: "lab.yaml")
        let summary = ConfigSummary.render(config)
        for bus in config.buses {
            #expect(summary.contains(bus.id), "bus \(bus.id) missing")
        }
        for device in config.devices {
            #expect(summary.contains(device.id), "device \(device.id) missing")
        }
        #expect(summary.contains("cell-therapy-unit-1"))
        #expect(summary.contains(".labgate/labgate.sqlite"))
        #expect(summary.contains("tcp 127.0.0.1:15020"))
        #expect(summary.contains("tcp 192.0.2.10:502"))
    }

    @Test("Each device is one line with its kind, bus, unit, profile, period and spec, its channels beneath") func showsEachDeviceOnOneLineWithItsChannels() throws {
        let config = try ConfigLoader.parse(yaml: ConfigFixtures.full, file: "lab.yaml")
        let lines = ConfigSummary.render(config).split(separator: "\n", omittingEmptySubsequences: false)
        let incubator = try #require(lines.firstIndex { $0.contains("INC-01") })
        let line = lines[incubator]
        for part in ["incubator", "bus sim", "unit 1", "profile sim-incubator", "every 2s", "spec msc-culture"] {
            #expect(line.contains(part), "'\(part)' missing from '\(line)'")
        }
        #expect(lines[incubator + 1].contains("temperature (°C), co2 (%), door"))
        let tank = try #require(lines.first { $0.contains("LN2-01") })
        #expect(tank.contains("ln2_tank") && tank.contains("unit 255") && tank.contains("every 1m"))
        #expect(!lines.contains { $0.contains("FRZ-01") && $0.contains("spec") })
    }

    @Test("The summary ends with the channel count and polls per second, and fits on one screen") func countsChannelsAndPollsPerSecond() throws {
        let config = try ConfigLoader.parse(yaml: ConfigFixtures.full, file: "lab.yaml")
        // 3 + 1 + 1 channels; 1/2s + 1/10s + 1/60s = 0.6166... polls per second
        #expect(ConfigSummary.render(config).hasSuffix("5 channels, 0.62 polls per second"))
        #expect(lines(of: config).count <= 25, "more than one screen")
    }

    @Test("check-config prints the data gap in force on each channel for each spec a lot can carry, the default where none is configured")
    func printsMaxGapInForce() throws {
        var config = incubatorConfig(delay: .seconds(10))
        // temperature: the equipment's high (delay 60 s) is the tighter one; 3 × 1 s + 60 s.
        #expect(ConfigSummary.render(config).contains("max_gap with a lot inside: msc-culture: temperature 1m3s (default), co2 13s (default)"))
        config.specs["msc-culture"]?.limits["co2"]?.maxGap = .seconds(30)
        #expect(ConfigSummary.render(config).contains("msc-culture: temperature 1m3s (default), co2 30s (spec)"))
    }

    private func lines(of config: Config) -> [Substring] {
        ConfigSummary.render(config).split(separator: "\n", omittingEmptySubsequences: false)
    }
}
