import Modbus
import Yams

extension ConfigReader {
    static let busKeys = ["id", "tcp", "rtu"]
    static let transportKeys = ["tcp", "rtu"]
    static let tcpKeys = ["host", "port"]
    static let rtuKeys = ["port", "usb", "baud", "parity", "data_bits", "stop_bits"]
    static let usbKeys = ["vendor", "product", "serial"]

    /// The `buses:` list. Records every bus id (even of a bus with other problems) so that devices
    /// naming it are not reported a second time.
    mutating func readBuses(_ node: Node) -> [Bus] {
        guard let items = items(of: node, for: "buses", in: "") else { return [] }
        if items.isEmpty {
            report("at least one bus is needed", at: node, in: "buses")
        }
        return items.enumerated().compactMap { index, item in readBus(item, index: index) }
    }

    private mutating func readBus(_ node: Node, index: Int) -> Bus? {
        let context = Self.peekName(node, key: "id").map { "bus \($0)" } ?? "bus #\(index + 1)"
        guard let entries = entries(of: node, keys: Self.busKeys, required: ["id"], for: "a bus", in: context)
        else { return nil }

        let id = string("id", of: entries)
        var isFirstWithID = false
        if let id, let idNode = entries["id"] {
            if let first = buses[id] {
                report("duplicate bus id '\(id)' (first at line \(first.location.line))", at: idNode, in: "")
            } else {
                buses[id] = (location(of: idNode), nil)
                isFirstWithID = true
            }
        }

        let transports = entries.entries.filter { Self.transportKeys.contains($0.key) }
        if transports.isEmpty {
            let expected = Self.transportKeys.joined(separator: ", ")
            report("missing transport (expected one of: \(expected))", at: node, in: context)
        }
        for extra in transports.dropFirst() {
            report("more than one transport ('\(transports[0].key)' and '\(extra.key)')", at: extra.keyNode, in: context)
        }
        guard let transportEntry = transports.first else { return nil }
        var adapter: USBAdapterMatch?
        let transport = transportEntry.key == "rtu"
            ? readRTU(transportEntry.value, in: context, adapter: &adapter) : readTCP(transportEntry.value, in: context)
        if case let .rtu(settings)? = transport,
            let other = buses.first(where: { $0.key != id && $0.value.transport.map { Self.port(of: $0) } == settings.port })
        {
            report(
                "port \(settings.port) is already used by bus \(other.key) (line \(other.value.location.line))",
                at: transportEntry.keyNode, in: context)
            return nil
        }

        guard let id, let transport else { return nil }
        if isFirstWithID { buses[id]?.transport = transport }
        return Bus(id: id, transport: transport, adapter: adapter, location: location(of: node))
    }

    private mutating func readTCP(_ node: Node, in context: String) -> ModbusTransport? {
        let tcpContext = "\(context), tcp"
        guard let tcp = entries(of: node, keys: Self.tcpKeys, required: Self.tcpKeys, for: "tcp", in: tcpContext)
        else { return nil }
        let host = string("host", of: tcp)
        let port = integer("port", of: tcp, range: 1...65535)
        guard let host, let port else { return nil }
        return .tcp(host: host, port: port)
    }

    /// `rtu: { port: PATH, baud: 19200, parity: even, data_bits: 8, stop_bits: 1 }`; parity,
    /// data_bits and stop_bits default to even, 8 and 1 (the Modbus serial line default, 8E1).
    /// Instead of `port`, `usb: { vendor: "0403", product: "6001", serial: "A10K1ABC" }` names the
    /// adapter by its USB identity (as `labgate ports` shows it).
    private mutating func readRTU(_ node: Node, in context: String, adapter: inout USBAdapterMatch?) -> ModbusTransport? {
        let rtuContext = "\(context), rtu"
        guard let rtu = entries(of: node, keys: Self.rtuKeys, required: ["baud"], for: "rtu", in: rtuContext)
        else { return nil }
        let errorsBefore = errors.count
        var port = rtu["port"] == nil ? nil : string("port", of: rtu)
        switch (rtu["port"], rtu["usb"]) {
        case (nil, nil): report("missing port (or usb: { vendor, product, serial })", at: node, in: rtuContext)
        case (_?, let usbNode?): report("port and usb name the adapter twice: keep one", at: usbNode, in: rtuContext)
        case (nil, let usbNode?):
            adapter = readUSB(usbNode, in: rtuContext)
            port = adapter?.description
        default: break
        }
        if rtu["usb"] != nil {
            // `port` then only describes the adapter; it is looked up at each open.
        } else if let port, let portNode = rtu["port"], !port.hasPrefix("/") {
            report("port must be an absolute path (e.g. /dev/serial/by-id/...), got '\(port)'", at: portNode, in: rtuContext)
        }
        let baud = integer("baud", of: rtu, range: nil)
        if let baud, let baudNode = rtu["baud"], !RTUSettings.supportedBauds.contains(baud) {
            let supported = RTUSettings.supportedBauds.map(String.init).joined(separator: ", ")
            report(
                "unsupported baud \(baud): libmodbus would silently use 9600 (supported: \(supported))",
                at: baudNode, in: rtuContext)
        }
        let parity: RTUSettings.Parity? = choice("parity", of: rtu)
        let dataBits = integer("data_bits", of: rtu, range: nil)
        if let dataBits, let bitsNode = rtu["data_bits"], !RTUSettings.supportedDataBits.contains(dataBits) {
            report("unsupported data_bits \(dataBits) (expected 7 or 8)", at: bitsNode, in: rtuContext)
        }
        let stopBits = integer("stop_bits", of: rtu, range: nil)
        if let stopBits, let bitsNode = rtu["stop_bits"], !RTUSettings.supportedStopBits.contains(stopBits) {
            report("unsupported stop_bits \(stopBits) (expected 1 or 2)", at: bitsNode, in: rtuContext)
        }
        guard errors.count == errorsBefore, let port, let baud else { return nil }
        return .rtu(RTUSettings(
            port: port, baud: baud, parity: parity ?? .even, dataBits: dataBits ?? 8, stopBits: stopBits ?? 1))
    }

    /// `usb: { vendor: "0403", product: "6001", serial: "..." }`: ids are four hex digits, as
    /// `labgate ports` prints them (quote them, or YAML may read 0403 as a number).
    private mutating func readUSB(_ node: Node, in context: String) -> USBAdapterMatch? {
        let usbContext = "\(context), usb"
        guard let usb = entries(of: node, keys: Self.usbKeys, required: ["vendor", "product"], for: "usb", in: usbContext)
        else { return nil }
        var ids: [String] = []
        for key in ["vendor", "product"] {
            guard let text = string(key, of: usb), let keyNode = usb[key] else { continue }
            if text.count == 4, text.allSatisfy(\.isHexDigit) {
                ids.append(text.lowercased())
            } else {
                report("\(key) must be four hex digits as labgate ports shows it (e.g. \"0403\"), got '\(text)'", at: keyNode, in: usbContext)
            }
        }
        let serial = usb["serial"] == nil ? nil : string("serial", of: usb)
        guard ids.count == 2 else { return nil }
        return USBAdapterMatch(vendor: ids[0], product: ids[1], serial: serial)
    }

    /// The serial port of an rtu transport (nil for tcp), to find two buses on one port.
    private static func port(of transport: ModbusTransport) -> String? {
        if case let .rtu(settings) = transport { return settings.port }
        return nil
    }
}
