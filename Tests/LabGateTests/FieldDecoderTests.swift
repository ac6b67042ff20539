import Modbus
import Testing
@testable import LabGate

@Test("scale and offset turn raw registers into engineering units")
func scalesValues() {
    let co2 = Field(channel: "co2", table: .input, address: 0, type: .int16, scale: 0.01, unit: "%")
    #expect(FieldDecoder.decode(co2, words: [500]).value == 5.0)
    let tenths = Field(channel: "t", table: .input, address: 0, type: .int16, scale: 0.1, offset: -273.2)
    let decoded = FieldDecoder.decode(tenths, words: [1932])
    #expect(decoded.quality == .good)
    #expect(abs(decoded.value! - (-80.0)) < 1e-9)
}

@Test("a configured sentinel is a sensor fault with no value, compared before scaling")
func sentinels() {
    let field = Field(channel: "co2", table: .input, address: 7, type: .int16, scale: 0.01, invalid: [-32768])
    let decoded = FieldDecoder.decode(field, words: [0x8000])
    #expect(decoded.value == nil)
    #expect(decoded.quality == .sensorFault)
    #expect(decoded.detail?.contains("-32768") == true)
    #expect(decoded.detail?.contains("input 7") == true)
    let unsigned = Field(channel: "rh", table: .holding, address: 0, type: .uint16, invalid: [65535])
    #expect(FieldDecoder.decode(unsigned, words: [0xFFFF]).quality == .sensorFault)
    #expect(FieldDecoder.decode(unsigned, words: [0xFFFE]).value == 65534)
}

@Test("NaN and infinity from a float register are sensor faults, never stored as values")
func nonFinite() throws {
    let field = Field(channel: "temperature", table: .input, address: 0, type: .float32, order: .cdab)
    for value in [Double.nan, .infinity, -.infinity] {
        let words = try RegisterCodec.encode(value, as: .float32, order: .cdab)
        let decoded = FieldDecoder.decode(field, words: words[...])
        #expect(decoded.quality == .sensorFault)
        #expect(decoded.value == nil)
    }
}

@Test("a bad-quality reading carries no value even if one is passed")
func readingDropsValueOfBadQuality() {
    let reading = Reading(device: "D", channel: "c", time: .now, value: 0, quality: .timeout)
    #expect(reading.value == nil)
}

@Test("adjacent fields of one table share a request; tables and holes (with max_fill 0) split them")
func plansRequests() {
    let profile = Profile(name: "p", fields: [
        Field(channel: "temperature", table: .input, address: 0, type: .float32),
        Field(channel: "co2", table: .input, address: 2, type: .int16),
        Field(channel: "rh", table: .input, address: 10, type: .uint16),
        Field(channel: "setpoint", table: .holding, address: 0, type: .int16),
    ])
    let plan = RequestPlanner.plan(profile, options: .init(maxFill: 0))
    #expect(plan.map { "\($0.table.rawValue) \($0.address)+\($0.count)" } == ["holding 0+1", "input 0+3", "input 10+1"])
    #expect(plan[1].fields.map(\.channel) == ["temperature", "co2"])
}
