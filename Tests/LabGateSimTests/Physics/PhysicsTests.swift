import LabGate
import Testing

@testable import LabGateSim

@Suite("Physics")
struct PhysicsTests {
    let config = TestConfig.make()

    func simulation(_ events: [ScenarioEvent], seed: UInt64 = 7) -> Simulation {
        Simulation(config: config, scenario: Scenario(events: events), seed: seed)
    }

    @Test("every device starts at its set point, with small noise")
    func setPoints() {
        var sim = simulation([])
        sim.advance(by: .seconds(600))
        let expected: [(String, String, Double)] = [
            ("INC-01", "temperature", 37), ("INC-01", "co2", 5), ("INC-01", "rh", 95),
            ("FRZ-01", "temperature", -80), ("LN2-01", "temperature", -190), ("LN2-01", "level", 80),
            ("FRG-01", "temperature", 5),
        ]
        for (device, channel, value) in expected {
            let reading = try! #require(sim.value(device: device, channel: channel))
            #expect(abs(reading - value) <= 0.021, "\(device) \(channel) = \(reading)")
        }
        // Noise is there: successive readings differ.
        let a = sim.value(device: "INC-01", channel: "temperature")
        sim.advance(by: .seconds(1))
        #expect(sim.value(device: "INC-01", channel: "temperature") != a)
    }

    @Test("an incubator door opening drops CO2 and temperature; both recover once it closes")
    func incubatorDoor() throws {
        var sim = simulation([ScenarioEvent(at: .seconds(60), device: "INC-02", kind: .doorOpen, duration: .seconds(180))])
        sim.advance(to: .seconds(60))
        #expect(abs(try #require(sim.value(device: "INC-02", channel: "co2")) - 5) < 0.1)
        #expect(sim.device("INC-02")?.conditions.doorOpen == true)

        sim.advance(to: .seconds(240))  // door closes now
        let co2 = try #require(sim.value(device: "INC-02", channel: "co2"))
        let temperature = try #require(sim.value(device: "INC-02", channel: "temperature"))
        let humidity = try #require(sim.value(device: "INC-02", channel: "rh"))
        #expect(co2 < 1.0)
        #expect(temperature < 35.5)
        #expect(temperature > 30)
        #expect(humidity < 80)
        #expect(sim.device("INC-02")?.conditions.doorOpen == false)
        // The other incubator is untouched.
        #expect(abs(try #require(sim.value(device: "INC-01", channel: "co2")) - 5) < 0.1)

        sim.advance(by: .seconds(300))  // CO2 is back within ~5 min
        #expect(abs(try #require(sim.value(device: "INC-02", channel: "co2")) - 5) <= 0.5)

        sim.advance(by: .seconds(300))  // temperature takes a little longer
        #expect(abs(try #require(sim.value(device: "INC-02", channel: "temperature")) - 37) <= 1)
        #expect(abs(try #require(sim.value(device: "INC-02", channel: "co2")) - 5) <= 0.5)
        #expect(try #require(sim.value(device: "INC-02", channel: "rh")) > 90)
    }

    @Test("a freezer whose compressor fails warms 1.5 to 6 °C in 10 minutes")
    func compressorFailure() throws {
        var sim = simulation([ScenarioEvent(at: .seconds(30), device: "FRZ-01", kind: .compressorFailure)])
        sim.advance(to: .seconds(30))
        let before = try #require(sim.value(device: "FRZ-01", channel: "temperature"))
        sim.advance(by: .seconds(600))
        let after = try #require(sim.value(device: "FRZ-01", channel: "temperature"))
        #expect((1.5...6).contains(after - before), "warmed \(after - before) °C")
        // Without `for` it lasts: after another hour it is well above the -70 °C alarm.
        sim.advance(by: .seconds(3600))
        #expect(try #require(sim.value(device: "FRZ-01", channel: "temperature")) > -70)
    }

    @Test("a compressor repaired after 20 minutes pulls the freezer back down")
    func compressorRepaired() throws {
        var sim = simulation([ScenarioEvent(at: .zero, device: "FRZ-01", kind: .compressorFailure, duration: .seconds(1200))])
        sim.advance(to: .seconds(1200))
        #expect(try #require(sim.value(device: "FRZ-01", channel: "temperature")) > -76)
        sim.advance(by: .seconds(3600))
        #expect(try #require(sim.value(device: "FRZ-01", channel: "temperature")) < -79.5)
    }

    @Test("a missed LN2 fill lowers the level, then the vapour warms above -150 °C")
    func fillMissed() throws {
        var sim = simulation([ScenarioEvent(at: .zero, device: "LN2-01", kind: .fillMissed)])
        sim.advance(to: .seconds(3600))
        let level = try #require(sim.value(device: "LN2-01", channel: "level"))
        #expect(level < 60)
        #expect(level > 20)
        // Still enough nitrogen: the vapour stays cold.
        #expect(try #require(sim.value(device: "LN2-01", channel: "temperature")) < -185)

        sim.advance(to: .seconds(4 * 3600))
        #expect(try #require(sim.value(device: "LN2-01", channel: "level")) < 20)
        #expect(try #require(sim.value(device: "LN2-01", channel: "temperature")) > -150)
    }

    @Test("an empty CO2 supply lets CO2 fall slowly; restored, it recovers")
    func co2Supply() throws {
        var sim = simulation([ScenarioEvent(at: .zero, device: "INC-01", kind: .co2SupplyEmpty, duration: .seconds(1800))])
        sim.advance(to: .seconds(120))
        let early = try #require(sim.value(device: "INC-01", channel: "co2"))
        #expect(early < 5 && early > 4.3, "slow, unlike an open door: \(early)")
        sim.advance(to: .seconds(1800))
        #expect(try #require(sim.value(device: "INC-01", channel: "co2")) < 2.5)
        sim.advance(by: .seconds(600))
        #expect(abs(try #require(sim.value(device: "INC-01", channel: "co2")) - 5) <= 0.5)
    }

    @Test("overlapping door openings keep the door open until the last one ends")
    func overlappingEvents() {
        var sim = simulation([
            ScenarioEvent(at: .seconds(10), device: "FRG-01", kind: .doorOpen, duration: .seconds(60)),
            ScenarioEvent(at: .seconds(40), device: "FRG-01", kind: .doorOpen, duration: .seconds(60)),
        ])
        sim.advance(to: .seconds(80))
        #expect(sim.device("FRG-01")?.conditions.doorOpen == true)
        sim.advance(to: .seconds(100))
        #expect(sim.device("FRG-01")?.conditions.doorOpen == false)
    }

    @Test("the same seed gives the same readings; another seed does not")
    func seeded() {
        let events = [ScenarioEvent(at: .seconds(5), device: "INC-01", kind: .doorOpen, duration: .seconds(30))]
        var a = simulation(events, seed: 42)
        var b = simulation(events, seed: 42)
        var c = simulation(events, seed: 43)
        a.advance(by: .milliseconds(95_500))
        b.advance(by: .seconds(40))
        b.advance(by: .milliseconds(55_500))
        c.advance(by: .milliseconds(95_500))
        for device in ["INC-01", "FRZ-01", "LN2-01"] {
            #expect(a.value(device: device, channel: "temperature") == b.value(device: device, channel: "temperature"))
            #expect(a.value(device: device, channel: "temperature") != c.value(device: device, channel: "temperature"))
        }
    }

    @Test("events are announced at their simulated times, with their ends")
    func announcements() {
        var sim = simulation([
            ScenarioEvent(at: .seconds(60), device: "INC-02", kind: .doorOpen, duration: .seconds(180)),
            ScenarioEvent(at: .seconds(30), device: "INC-01", kind: .sensorFault(channel: "co2"), duration: .seconds(60)),
            ScenarioEvent(at: .seconds(3725), device: "FRZ-01", kind: .exception(code: 4)),
        ])
        var lines: [String] = []
        sim.advance(to: .seconds(7200)) { lines.append($0) }
        #expect(lines == [
            "sim +30s INC-01 sensor_fault co2 for 1m",
            "sim +1m00s INC-02 door_open for 3m",
            "sim +1m30s INC-01 sensor_fault ended",
            "sim +4m00s INC-02 door_open ended",
            "sim +1h02m05s FRZ-01 exception 4",
        ])
    }
}
