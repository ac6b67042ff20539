import Modbus
import Foundation
import Testing
@testable import LabGate
@testable import LabGateClient

private let ftdi = SerialAdapter(
    node: "/dev/ttyUSB0", byID: ["/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10K1ABC-if00-port0"],
    byPath: ["/dev/serial/by-path/pci-0000:00:14.0-usb-0:2:1.0-port0"], vendor: "0403", product: "6001",
    serial: "A10K1ABC", manufacturer: "FTDI", model: "FT232R USB UART", driver: "ftdi_sio")
private let ch340a = SerialAdapter(node: "/dev/ttyUSB1", byPath: ["/dev/serial/by-path/pci-0000:00:14.0-usb-0:3:1.0-port0"], vendor: "1a86", product: "7523")
private let ch340b = SerialAdapter(node: "/dev/ttyUSB2", byPath: ["/dev/serial/by-path/pci-0000:00:14.0-usb-0:4:1.0-port0"], vendor: "1a86", product: "7523")

@Test("an adapter named by USB vendor, product and serial is found whatever its node is now")
func resolvesByUSBIdentity() {
    let match = USBAdapterMatch(vendor: "0403", product: "6001", serial: "A10K1ABC")
    #expect(match.resolve(in: [ch340a, ftdi]) == .success(ftdi))
    let moved = SerialAdapter(node: "/dev/ttyUSB7", vendor: "0403", product: "6001", serial: "A10K1ABC")
    #expect(match.resolve(in: [moved]) == .success(moved))
    #expect(USBAdapterMatch(vendor: "0403", product: "6001", serial: "OTHER").resolve(in: [ftdi]) == .failure(.notFound(.init(vendor: "0403", product: "6001", serial: "OTHER"))))
}

@Test("two serial-less CH340 adapters cannot be told apart by USB identity: the error says to use by-path")
func ambiguousWithoutSerial() throws {
    let match = USBAdapterMatch(vendor: "1A86", product: "7523")
    guard case let .failure(error) = match.resolve(in: [ch340a, ch340b]) else {
        Issue.record("expected ambiguity")
        return
    }
    #expect(error.description.contains("/dev/ttyUSB1, /dev/ttyUSB2"))
    #expect(error.description.contains("by-path"))
}

@Test("the ports listing shows nodes, stable links and the config line to name the adapter")
func portsTable() {
    let text = PortsTable.render([ftdi, ch340a])
    #expect(text.contains("/dev/ttyUSB0  usb 0403:6001 (FTDI FT232R USB UART)  serial A10K1ABC  driver ftdi_sio"))
    #expect(text.contains("  /dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10K1ABC-if00-port0\n"))
    #expect(text.contains(#"config: usb: { vendor: "0403", product: "6001", serial: "A10K1ABC" }"#))
    #expect(text.contains("/dev/ttyUSB1  usb 1a86:7523  serial none (name it by-path)"))
    #expect(PortsTable.render([]) == "no serial adapters found\n")
}

@Test("libudev's list holds every USB serial node in sysfs and no virtual terminal")
func listsRealPortsOnly() throws {
    let listed = Set(SerialAdapters.list().map(\.node))
    let sysfs = try FileManager.default.contentsOfDirectory(atPath: "/sys/class/tty")
    for name in sysfs where name.hasPrefix("ttyUSB") || name.hasPrefix("ttyACM") {
        #expect(listed.contains("/dev/\(name)"))
    }
    for name in ["/dev/tty", "/dev/tty0", "/dev/tty1", "/dev/console", "/dev/ptmx"] {
        #expect(!listed.contains(name))
    }
}

@Test("a plugged-in adapter is recognised as a bus's by USB identity, node, by-id or by-path link")
func adapterBelongsToBus() {
    func bus(_ port: String, _ adapter: USBAdapterMatch? = nil) -> Bus {
        Bus(id: "rs485", transport: .rtu(RTUSettings(port: port, baud: 19200)), adapter: adapter)
    }
    #expect(AdapterWatchService.names(bus("usb 0403:6001", USBAdapterMatch(vendor: "0403", product: "6001", serial: "A10K1ABC")), ftdi))
    #expect(!AdapterWatchService.names(bus("usb", USBAdapterMatch(vendor: "0403", product: "6001", serial: "OTHER")), ftdi))
    #expect(AdapterWatchService.names(bus("/dev/ttyUSB0"), ftdi))
    #expect(AdapterWatchService.names(bus(ftdi.byID[0]), ftdi))
    #expect(AdapterWatchService.names(bus(ftdi.byPath[0]), ftdi))
    #expect(!AdapterWatchService.names(bus("/dev/ttyUSB1"), ftdi))
    #expect(!AdapterWatchService.names(Bus(id: "lan", transport: .tcp(host: "127.0.0.1", port: 502)), ftdi))
}
