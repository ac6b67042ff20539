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
    /// Requests are framed, and replies checked, here rather than by libmodbus.
    private var framing: any ModbusFraming

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
        self.framing = isSerial ? RTUFraming() : TCPFraming()
    }

    deinit {
        close()
        modbus_free(raw)
    }

    /// Bounds the TCP connect (libmodbus's response timeout; replies are bounded by `transact`).
    public func setConnectTimeout(_ timeout: Duration) {
        let (sec, usec) = Self.split(timeout)
        modbus_set_response_timeout(raw, sec, usec)
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
        let fd = modbus_get_socket(raw)
        // `transact` waits with poll(2) against its deadline, never in a blocking read or write.
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0, flags & O_NONBLOCK == 0 { _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
        guard isSerial else { return }
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

    /// Sends `transaction`'s request and returns the data of its reply, all within `timeout` from
    /// now (a reply still incomplete then is a timeout, however steadily its bytes come); after the
    /// first byte of the reply, each later chunk must come within `byteTimeout`. libmodbus only
    /// connects, flushes and closes: framing and every check of the reply are done here
    /// (`ModbusFraming`, `ModbusTransaction`).
    public func transact(
        _ transaction: ModbusTransaction, timeout: Duration, byteTimeout: Duration
    ) throws(ModbusError) -> ArraySlice<UInt8> {
        guard isConnected else { throw .transport(errno: ENOTCONN, "not connected to \(endpoint)") }
        if isSerial, transaction.unit > 247 { throw .setup("invalid unit id \(transaction.unit)") }
        let deadline = Monotonic.now() + timeout.inNanoseconds
        let channel = FrameChannel(fd: modbus_get_socket(raw), isSocket: !isSerial)
        try channel.send(framing.frame(transaction), deadline: deadline)
        let frame = try channel.receive(deadline: deadline, gap: byteTimeout.inNanoseconds) { received throws(ModbusError) in
            try framing.replyLength(received, for: transaction)
        }
        return try transaction.payload(ofReply: framing.replyPDU(frame, for: transaction))
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
