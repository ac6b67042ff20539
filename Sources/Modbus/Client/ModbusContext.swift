import CModbus
import Glibc

/// One libmodbus context. Not thread-safe: exactly one `ModbusBus` owns it and calls it on the
/// bus's own thread, because every call blocks.
public final class ModbusContext {
    private let raw: OpaquePointer
    public private(set) var isConnected = false

    /// A TCP context; `host` may be a name or an address (libmodbus's protocol-independent API).
    public static func tcp(host: String, port: Int) throws(ModbusError) -> ModbusContext {
        guard let raw = modbus_new_tcp_pi(host, String(port)) else {
            throw .setup("cannot create a Modbus TCP context for \(host):\(port): \(String(cString: strerror(lg_errno())))")
        }
        return ModbusContext(raw: raw)
    }

    private init(raw: OpaquePointer) {
        self.raw = raw
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

    public func connect() throws(ModbusError) {
        guard !isConnected else { return }
        guard modbus_connect(raw) == 0 else { throw ModbusError(errno: lg_errno()) }
        isConnected = true
    }

    public func close() {
        guard isConnected else { return }
        modbus_close(raw)
        isConnected = false
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
