import Foundation
import LabGate
import LabGateClient
import Modbus
import Testing

/// `rtu:` buses: parsed with their defaults, and every mistake refused at its line and column.
@Suite("Config loader: rtu buses")
struct ConfigRTUTests {
    typealias F = ConfigFixtures
    static let tcpLine = "tcp: { host: 127.0.0.1, port: 15020 }"

    /// The base config with its bus on a serial line written as `rtu`.
    func config(_ rtu: String) -> String {
        F.base(replacing: Self.tcpLine, with: rtu)
    }

    /// `lab.yaml:LINE:COL` of the first `needle` in `yaml`.
    func position(of needle: String, in yaml: String, plus offset: Int = 0) -> String {
        let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
        for (number, line) in lines.enumerated() {
            if let range = line.range(of: needle) {
                return "lab.yaml:\(number + 1):\(line.distance(from: line.startIndex, to: range.lowerBound) + 1 + offset)"
            }
        }
        Issue.record("'\(needle)' not found")
        return ""
    }

    @Test("An rtu bus with only port and baud is 8E1") func parsesWithDefaults() throws {
        let config = try ConfigLoader.parse(yaml: config("rtu: { port: /dev/ttyUSB0, baud: 19200 }"), file: "lab.yaml")
        #expect(config.buses.first?.transport == .rtu(RTUSettings(port: "/dev/ttyUSB0", baud: 19200, parity: .even, dataBits: 8, stopBits: 1)))
        #expect(ConfigSummary.render(config).contains("sim  rtu /dev/ttyUSB0 19200 8E1  (2 devices)"))
    }

    @Test("An rtu bus takes port, baud, parity, data bits and stop bits") func parsesEveryKey() throws {
        let text = config("rtu: { port: /dev/serial/by-id/usb-FTDI-if00-port0, baud: 9600, parity: none, data_bits: 8, stop_bits: 2 }")
        let config = try ConfigLoader.parse(yaml: text, file: "lab.yaml")
        #expect(config.buses.first?.transport == .rtu(RTUSettings(
            port: "/dev/serial/by-id/usb-FTDI-if00-port0", baud: 9600, parity: .none, dataBits: 8, stopBits: 2)))
    }

    @Test("An unsupported baud rate is refused with the list of supported ones") func unsupportedBaudNamesTheSupportedOnes() {
        let text = config("rtu: { port: /dev/ttyUSB0, baud: 14400 }")
        let supported = "110, 300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 500000, "
            + "576000, 921600, 1000000, 1152000, 1500000, 2500000, 3000000, 3500000, 4000000"
        #expect(F.messages(text) == [
            "\(position(of: "14400", in: text)): bus sim, rtu: unsupported baud 14400: libmodbus would silently use 9600 (supported: \(supported))"
        ])
    }

    @Test("Unknown parity, data bits and stop bits are each refused at their place") func badParityDataAndStopBits() {
        let text = config("rtu: { port: /dev/ttyUSB0, baud: 19200, parity: mark, data_bits: 6, stop_bits: 3 }")
        #expect(F.messages(text) == [
            "\(position(of: "mark", in: text)): bus sim, rtu: unknown parity 'mark' (expected one of: none, even, odd)",
            "\(position(of: "6,", in: text)): bus sim, rtu: unsupported data_bits 6 (expected 7 or 8)",
            "\(position(of: "3 }", in: text)): bus sim, rtu: unsupported stop_bits 3 (expected 1 or 2)",
        ])
    }

    @Test("An rtu bus without port or baud, or with unknown keys, is refused") func missingPortAndBaudAndUnknownKeys() {
        let text = config("rtu: { speed: 19200 }")
        #expect(F.messages(text) == [
            "\(position(of: "{ speed", in: text)): bus sim, rtu: missing key 'baud'",
            "\(position(of: "{ speed", in: text)): bus sim, rtu: missing port (or usb: { vendor, product, serial })",
            "\(position(of: "speed", in: text)): bus sim, rtu: unknown key 'speed' (expected one of: port, usb, baud, parity, data_bits, stop_bits)",
        ])
    }

    @Test("A serial port must be an absolute path") func relativePort() {
        let text = config("rtu: { port: ttyUSB0, baud: 19200 }")
        #expect(F.messages(text) == [
            "\(position(of: "ttyUSB0", in: text)): bus sim, rtu: port must be an absolute path (e.g. /dev/serial/by-id/...), got 'ttyUSB0'"
        ])
    }

    @Test("A bus with both tcp and rtu is refused") func exactlyOneTransport() {
        let text = F.base(replacing: Self.tcpLine, with: Self.tcpLine + "\n    rtu: { port: /dev/ttyUSB0, baud: 19200 }")
        #expect(F.messages(text) == [
            "\(position(of: "rtu:", in: text)): bus sim: more than one transport ('tcp' and 'rtu')"
        ])
    }

    @Test("Units on a serial line are 1 to 247") func unitsOnASerialLineAre1To247() {
        let text = config("rtu: { port: /dev/ttyUSB0, baud: 19200 }").replacingOccurrences(of: "unit: 2", with: "unit: 0")
        #expect(F.messages(text) == [
            "\(position(of: "unit: 0", in: text, plus: 6)): device FRZ-01: unit 0 out of range 1..247 on rtu bus sim"
        ])
    }

    @Test("Two buses on one serial port are refused") func twoBusesOnOnePort() {
        let text = F.base(
            replacing: "  - id: sim\n    " + Self.tcpLine,
            with: "  - id: sim\n    rtu: { port: /dev/ttyUSB0, baud: 19200 }\n  - id: other\n    rtu: { port: /dev/ttyUSB0, baud: 9600 }")
        #expect(F.messages(text) == [
            "lab.yaml:8:5: bus other: port /dev/ttyUSB0 is already used by bus sim (line 5)"
        ])
    }
}

@Suite("Config loader: rtu adapters named by USB identity")
struct ConfigUSBTests {
    typealias F = ConfigFixtures
    static let tcpLine = "tcp: { host: 127.0.0.1, port: 15020 }"

    @Test("An rtu bus can name its adapter by USB vendor, product and serial") func parsesUSBIdentity() throws {
        let text = F.base(replacing: Self.tcpLine, with: #"rtu: { usb: { vendor: "0403", product: "6001", serial: A10K1ABC }, baud: 19200 }"#)
        let config = try ConfigLoader.parse(yaml: text, file: "lab.yaml")
        #expect(config.buses.first?.adapter == USBAdapterMatch(vendor: "0403", product: "6001", serial: "A10K1ABC"))
        guard case let .rtu(settings)? = config.buses.first?.transport else {
            Issue.record("not rtu")
            return
        }
        #expect(settings.port == "usb 0403:6001 serial A10K1ABC")
    }

    @Test("An rtu bus needs exactly one of port and usb, with well-formed USB ids") func refusesBothOrNeitherAndBadIDs() {
        let both = F.base(replacing: Self.tcpLine, with: #"rtu: { port: /dev/ttyUSB0, usb: { vendor: "0403", product: "6001" }, baud: 19200 }"#)
        #expect(F.messages(both).contains { $0.hasSuffix("bus sim, rtu: port and usb name the adapter twice: keep one") })
        let neither = F.base(replacing: Self.tcpLine, with: "rtu: { baud: 19200 }")
        #expect(F.messages(neither).contains { $0.hasSuffix("bus sim, rtu: missing port (or usb: { vendor, product, serial })") })
        let bad = F.base(replacing: Self.tcpLine, with: #"rtu: { usb: { vendor: FTDI, product: "6001" }, baud: 19200 }"#)
        #expect(F.messages(bad).contains { $0.contains("vendor must be four hex digits") && $0.contains("'FTDI'") })
    }
}
