import CModbus
import CSerial
import Glibc

/// One libmodbus context. Not thread-safe: exactly one `ModbusBus` owns it and calls it on the
/// bus's own thread, because every call blocks.
public final class ModbusContext {
    private let raw: OpaquePointer
    /// What messages name: the serial port's path, or host:port.
    private let endpoint: String
    private let isSerial: Bool
    public private(set) var isConnected = false

    /// A TCP context; `host` may be a name or an address (libmodbus's protocol-independent API).
    public static func tcp(host: String, port: Int) throws(ModbusError) -> ModbusContext {
        guard let raw = modbus_new_tcp_pi(host, String(port)) else {
            throw .setup("cannot create a Modbus TCP context for \(host):\(port): \(String(cString: strerror(lg_errno())))")
        }
        return ModbusContext(raw: raw, endpoint: "\(host):\(port)", isSerial: false)
    }

    /// An RTU context on a serial port. Refuses settings libmodbus would silently change (a baud
    /// outside `RTUSettings.supportedBauds` becomes 9600).
    public static func rtu(_ settings: RTUSettings) throws(ModbusError) -> ModbusContext {
        if let problem = settings.problem { throw .setup("\(settings.port): \(problem)") }
        let parity = CChar(UInt8(ascii: settings.parity.letter.unicodeScalars.first!))
        guard let raw = modbus_new_rtu(
            settings.port, Int32(settings.baud), parity, Int32(settings.dataBits), Int32(settings.stopBits))
        else {
            throw .setup("cannot create a Modbus RTU context for \(settings): \(String(cString: strerror(lg_errno())))")
        }
        return ModbusContext(raw: raw, endpoint: settings.port, isSerial: true)
    }

    private init(raw: OpaquePointer, endpoint: String, isSerial: Bool) {
        self.raw = raw
        self.endpoint = endpoint
        self.isSerial = isSerial
    }

    deinit {
        close()
        modbus_free(raw)
    }

    /// Bounds the wait for a reply's first byte; libmodbus also uses it as the TCP connect timeout.
    public func setResponseTimeout(_ timeout: Duration) {
        let (sec, usec) = Self.split(timeout)
        modbus_set_response_timeout(raw, sec, usec)
    }

    /// Bounds the wait between bytes of one reply.
    public func setByteTimeout(_ timeout: Duration) {
        let (sec, usec) = Self.split(timeout)
        modbus_set_byte_timeout(raw, sec, usec)
    }

    /// Connects (TCP) or opens the port (RTU). Any failure is a transport error naming the
    /// endpoint, whatever errno says (a TCP connect timeout included): nothing was sent yet.
    ///
    /// An RTU port is taken exclusively, before libmodbus touches its settings: an `flock` on a
    /// descriptor of our own (keeps out every other labgate, root or not), then TIOCEXCL on
    /// libmodbus's (keeps out programs that do not lock, e.g. a terminal; root passes it). RS-485
    /// mode is asked for; a port that refuses it (a pty, an adapter that switches direction in
    /// hardware) is used as it is.
    public func connect() throws(ModbusError) {
        guard !isConnected else { return }
        if isSerial { try lockPort() }
        guard modbus_connect(raw) == 0 else {
            let code = lg_errno()
            unlockPort()
            let verb = isSerial ? "cannot open" : "cannot connect to"
            throw .transport(errno: code, "\(verb) \(endpoint): \(String(cString: modbus_strerror(code)))")
        }
        isConnected = true
        guard isSerial else { return }
        let fd = modbus_get_socket(raw)
        _ = lg_tty_set_exclusive(fd)
        _ = modbus_rtu_set_serial_mode(raw, LG_MODBUS_RTU_RS485)
    }

    public func close() {
        guard isConnected else { return }
        if isSerial {
            // Exclusivity outlives our descriptor when someone else (a simulator) holds the tty.
            _ = lg_tty_clear_exclusive(modbus_get_socket(raw))
        }
        modbus_close(raw)
        unlockPort()
        isConnected = false
    }

    /// Descriptor holding the port's lock while connected.
    private var lock: Int32 = -1

    private func lockPort() throws(ModbusError) {
        let fd = open(endpoint, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let code = lg_errno()
            throw .transport(errno: code, "cannot open \(endpoint): \(String(cString: strerror(code)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = lg_errno()
            Glibc.close(fd)
            if code == EWOULDBLOCK { throw .transport(errno: EBUSY, "cannot open \(endpoint): in use by another process") }
            throw .transport(errno: code, "cannot lock \(endpoint): \(String(cString: strerror(code)))")
        }
        lock = fd
    }

    private func unlockPort() {
        guard lock >= 0 else { return }
        Glibc.close(lock)
        lock = -1
    }

    /// Drops bytes still in flight, so a late reply cannot pass for the answer to the next request.
    public func flush() {
        guard isConnected else { return }
        _ = modbus_flush(raw)
    }

    public func readHoldingRegisters(unit: Int, address: Int, count: Int) throws(ModbusError) -> [UInt16] {
        try read(unit: unit, address: address, count: count, modbus_read_registers)
    }

    public func readInputRegisters(unit: Int, address: Int, count: Int) throws(ModbusError) -> [UInt16] {
        try read(unit: unit, address: address, count: count, modbus_read_input_registers)
    }

    private func read(
        unit: Int, address: Int, count: Int,
        _ call: (OpaquePointer?, Int32, Int32, UnsafeMutablePointer<UInt16>?) -> Int32
    ) throws(ModbusError) -> [UInt16] {
        guard (1...Int(LG_MODBUS_MAX_READ_REGISTERS)).contains(count), (0...0xFFFF).contains(address),
              address + count <= 0x10000
        else { throw .setup("cannot read \(count) register(s) at \(address)") }
        guard modbus_set_slave(raw, Int32(unit)) == 0 else { throw .setup("invalid unit id \(unit)") }
        var words = [UInt16](repeating: 0, count: count)
        let got = words.withUnsafeMutableBufferPointer { call(raw, Int32(address), Int32(count), $0.baseAddress) }
        if got < 0 { throw ModbusError(errno: lg_errno()) }
        guard got == count else { throw .badResponse("\(got) register(s) for \(count) requested") }
        return words
    }

    private static func split(_ duration: Duration) -> (UInt32, UInt32) {
        let micros = max(0, Int64(duration.seconds * 1_000_000))
        return (UInt32(micros / 1_000_000), UInt32(micros % 1_000_000))
    }
}

extension Duration {
    /// The duration in seconds, as a floating-point number.
    var seconds: Double {
        let (s, attos) = components
        return Double(s) + Double(attos) / 1e18
    }
}
