/// A serial line's port and character format, with the frame timing that follows from them.
public struct RTUSettings: Sendable, Hashable, CustomStringConvertible {
    public enum Parity: String, Sendable, Hashable, CaseIterable {
        case none, even, odd

        /// The letter libmodbus takes ('N', 'E', 'O') and a format string shows (8E1).
        public var letter: Character {
            switch self {
            case .none: "N"
            case .even: "E"
            case .odd: "O"
            }
        }
    }

    /// Baud rates libmodbus 3.1.6 maps to a termios `B*` constant on Linux (`_modbus_rtu_connect`).
    /// Any other rate is silently opened at 9600, so configs must be checked against this list.
    /// (2000000 is missing on purpose: libmodbus has no case for it, although Linux has B2000000.)
    public static let supportedBauds: [Int] = [
        110, 300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 500000,
        576000, 921600, 1000000, 1152000, 1500000, 2500000, 3000000, 3500000, 4000000,
    ]
    public static let supportedDataBits = [7, 8]
    public static let supportedStopBits = [1, 2]

    /// The device path, e.g. `/dev/serial/by-id/usb-FTDI_...-if00-port0`.
    public var port: String
    public var baud: Int
    public var parity: Parity
    public var dataBits: Int
    public var stopBits: Int

    public init(port: String, baud: Int = 19200, parity: Parity = .even, dataBits: Int = 8, stopBits: Int = 1) {
        self.port = port
        self.baud = baud
        self.parity = parity
        self.dataBits = dataBits
        self.stopBits = stopBits
    }

    /// What libmodbus can open exactly as asked; nil when it can, else why not.
    public var problem: String? {
        if !Self.supportedBauds.contains(baud) { return "unsupported baud \(baud)" }
        if !Self.supportedDataBits.contains(dataBits) { return "unsupported data bits \(dataBits)" }
        if !Self.supportedStopBits.contains(stopBits) { return "unsupported stop bits \(stopBits)" }
        return nil
    }

    /// `8E1`.
    public var format: String { "\(dataBits)\(parity.letter)\(stopBits)" }

    public var description: String { "\(port) \(baud) \(format)" }

    /// Bits on the wire per character: start, data, parity (if any), stop. 11 for 8E1, 8O1 and 8N2;
    /// 10 for 8N1.
    public var bitsPerCharacter: Int { 1 + dataBits + (parity == .none ? 0 : 1) + stopBits }

    /// Time one character takes on the wire.
    public var characterTime: Duration { .nanoseconds(Int64(bitsPerCharacter) * 1_000_000_000 / Int64(baud)) }

    /// The silence that ends a frame (t3.5): 3.5 characters up to 19200 baud, 1.75 ms above
    /// (Modbus over serial line, 2.5.1.1).
    public var silence: Duration {
        baud > 19200 ? .microseconds(1750) : .nanoseconds(Int64(bitsPerCharacter) * 3_500_000_000 / Int64(baud))
    }

    /// Time `bytes` characters take on the wire, back to back.
    public func wireTime(bytes: Int) -> Duration {
        .nanoseconds(Int64(bytes * bitsPerCharacter) * 1_000_000_000 / Int64(baud))
    }

    /// The shortest possible read transaction of `registers` registers on this line (PITFALLS.md):
    /// request (8 bytes) and reply (5 + 2N) on the wire, each followed by t3.5, no turnaround.
    public func transactionTime(registers: Int) -> Duration {
        wireTime(bytes: 13 + 2 * registers) + silence * 2
    }
}
