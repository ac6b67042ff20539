import CModbus
import Foundation
import Glibc
import LabGate
import LabGateSim
import Modbus
import Testing

/// A serial line simulated on a pty in a temporary folder: three incubators (units 1, 2, 3) and
/// the bus owner that talks to them through libmodbus RTU.
final class SerialLine: @unchecked Sendable {
    private let temporary: TemporaryFolder
    var folder: String { temporary.path }
    let settings: RTUSettings
    let config: Config
    let simulator: Simulator
    let announcements = Announcements()

    /// `events` start at simulated time 0 unless they say otherwise; simulated time stands still
    /// (speed 0) until the test moves it with `simulator.advance(by:)`.
    init(baud: Int = 19200, parity: RTUSettings.Parity = .even, events: [ScenarioEvent] = []) throws {
        temporary = try TemporaryFolder("labgate-rtu")
        settings = RTUSettings(port: temporary.file("dev/ttyRS485"), baud: baud, parity: parity)
        let every = Duration.seconds(10)
        config = Config(
            file: "test.yaml", site: "test-site", store: "test.sqlite", alerts: "alerts",
            buses: [Bus(id: "line", transport: .rtu(settings))],
            devices: (1...3).map {
                Device(id: "INC-0\($0)", kind: .incubator, bus: "line", unit: $0, profile: "sim-incubator", every: every)
            },
            profiles: [TestConfig.incubator.name: TestConfig.incubator], specs: [:])
        simulator = Simulator(config: config, scenario: Scenario(events: events), speed: 0, seed: 1, announce: announcements.record)
        try simulator.start()
    }

    deinit {
        simulator.stop()
    }

    func bus(_ name: String = "line", holdoff: Duration = .milliseconds(500)) -> ModbusBus {
        ModbusBus(name: name, transport: .rtu(settings), reconnectHoldoff: holdoff)
    }

    var traffic: [RTUTraffic] { simulator.serialTraffic(bus: "line") }

    /// The traffic once it holds `count` transactions: the simulator records a transaction just
    /// after writing its reply, so the client may read the reply first (waits up to 1 s).
    func traffic(count: Int) async throws -> [RTUTraffic] {
        let deadline = ContinuousClock.now + .seconds(1)
        while traffic.count < count, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        return traffic
    }

    /// The simulator's current temperature of a unit, as the registers encode it.
    func temperature(unit: Int) -> Double? {
        simulator.value(device: "INC-0\(unit)", channel: "temperature")
    }
}

extension ModbusBus {
    /// Temperature (float32 ABCD at input 0) and CO2 of a simulated incubator.
    func incubator(unit: Int, options: TransactionOptions = .init(timeout: .milliseconds(300))) async throws(ModbusError) -> [UInt16] {
        try read(unit: unit, table: .input, address: 0, count: 4, options: options)
    }
}

private func temperature(_ words: [UInt16]) throws -> Double {
    try TestConfig.decode(Array(words[0..<2]), TestConfig.incubator.fields[0])
}

private func event(_ kind: ScenarioEvent.Kind, unit: Int = 1, for duration: Duration? = .seconds(1)) -> ScenarioEvent {
    ScenarioEvent(at: .zero, device: "INC-0\(unit)", kind: kind, duration: duration)
}

@Suite("Modbus RTU: bus owner against the simulator on a pty", .serialized)
struct RTUServerTests {
    @Test("several unit ids on one line at 19200 8E1, each answering with its own values")
    func severalUnits() async throws {
        let line = try SerialLine()
        let device = try #require(line.simulator.serialDevice(bus: "line"))
        #expect(device.hasPrefix("/dev/pts/"))
        #expect(SerialLinkPath.destination(line.settings.port) == device)
        #expect(line.announcements.all.contains {
            $0.hasPrefix("sim: bus line on \(line.settings.port) -> /dev/pts/") && $0.contains("(rtu 19200 8E1), units 1 INC-01, 2 INC-02, 3 INC-03")
        })
        let bus = line.bus()
        for _ in 0..<3 {
            for unit in 1...3 {
                let words = try await bus.incubator(unit: unit)
                #expect(abs(try temperature(words) - (line.temperature(unit: unit) ?? 0)) < 0.001)
            }
        }
        // A unit nobody has on the line stays silent (no gateway to answer 0x0B on a serial line).
        await #expect(throws: ModbusError.timeout) { try await bus.incubator(unit: 9, options: .init(timeout: .milliseconds(100))) }
        #expect(try await bus.incubator(unit: 2).count == 4)
    }

    @Test("a reply with a bad CRC is a badCRC error, never a value; the line stays in sync")
    func crcCorruption() async throws {
        let line = try SerialLine(events: [event(.crcError)])
        let bus = line.bus()
        await #expect(throws: ModbusError.badCRC) { try await bus.incubator(unit: 1) }
        // The next request, to a neighbour, gets its own answer at once.
        let neighbour = try await bus.incubator(unit: 2)
        #expect(abs(try temperature(neighbour) - (line.temperature(unit: 2) ?? 0)) < 0.001)
        line.simulator.advance(by: .seconds(2))
        #expect(try await bus.incubator(unit: 1).count == 4)
    }

    @Test("a truncated reply fails within the timeout plus the byte timeout; the next read succeeds")
    func truncatedFrame() async throws {
        let line = try SerialLine(events: [event(.truncated)])
        let bus = line.bus()
        let options = TransactionOptions(timeout: .milliseconds(300))
        let start = ContinuousClock.now
        await #expect(throws: ModbusError.timeout) { try await bus.incubator(unit: 1, options: options) }
        #expect(ContinuousClock.now - start < .milliseconds(300) + bus.byteTimeout(for: options.timeout) * 2 + .milliseconds(200))
        #expect(try await bus.incubator(unit: 3).count == 4)
        line.simulator.advance(by: .seconds(2))
        #expect(try await bus.incubator(unit: 1).count == 4)
    }

    @Test("a reply from the wrong unit id is rejected, never taken as a value")
    func wrongUnit() async throws {
        let line = try SerialLine(events: [event(.wrongUnit)])
        let bus = line.bus()
        let error = await #expect(throws: ModbusError.self) { try await bus.incubator(unit: 1) }
        guard case .badResponse? = error else {
            Issue.record("expected a bad response, got \(String(describing: error))")
            return
        }
        #expect(try await bus.incubator(unit: 2).count == 4)
    }

    @Test("a reply that comes after the timeout is flushed, not taken for the next unit's answer")
    func lateReplyFlushed() async throws {
        let line = try SerialLine(events: [event(.slow(by: .milliseconds(300)))])
        let bus = line.bus()
        await #expect(throws: ModbusError.timeout) {
            try await bus.incubator(unit: 1, options: .init(timeout: .milliseconds(100)))
        }
        try await Task.sleep(for: .milliseconds(450))  // the late reply is now waiting in the tty
        let words = try await bus.incubator(unit: 3)
        #expect(abs(try temperature(words) - (line.temperature(unit: 3) ?? 0)) < 0.001)
    }

    @Test("exception replies on a serial line: 2, 4 and 6 (busy)", arguments: [UInt8(2), 4, 6])
    func exceptions(code: UInt8) async throws {
        let line = try SerialLine(events: [event(.exception(code: code), for: nil)])
        let bus = line.bus()
        await #expect(throws: ModbusError.exception(ModbusException(code: code))) { try await bus.incubator(unit: 1) }
        #expect(try await bus.incubator(unit: 2).count == 4)
    }

    @Test("the bus owner keeps t3.5 of silence after each reply (1200 baud 8E1: 32 ms)")
    func interFrameSilence() async throws {
        let line = try SerialLine(baud: 1200)
        let bus = line.bus()
        for unit in [1, 2, 3, 1, 2] {
            _ = try await bus.incubator(unit: unit, options: .init(timeout: .seconds(1)))
        }
        let traffic = try await line.traffic(count: 5)
        try #require(traffic.count == 5)
        let silence = line.settings.silence.inNanoseconds
        for (previous, next) in zip(traffic, traffic.dropFirst()) {
            let gap = next.requestAt - (previous.replyAt ?? .max)
            #expect(gap >= silence - 1_000_000, "gap \(gap) ns < t3.5 \(silence) ns")
        }
        // And the simulator is never faster than the wire: 8 + 13 bytes at 1200 baud + t3.5.
        for entry in traffic {
            let least = line.settings.wireTime(bytes: 8 + 13).inNanoseconds + silence
            #expect((entry.replyAt ?? 0) - entry.requestAt >= least)
        }
    }

    @Test("each device's minimum gap is kept from the end of the previous transaction on the bus")
    func minimumGap() async throws {
        let line = try SerialLine()
        let bus = line.bus()
        let gap = TransactionOptions(timeout: .milliseconds(300), minimumGap: .milliseconds(80))
        _ = try await bus.incubator(unit: 1)
        _ = try await bus.incubator(unit: 2, options: gap)  // waits 80 ms after unit 1's reply
        _ = try await bus.incubator(unit: 3)  // only t3.5 after unit 2's reply
        let traffic = try await line.traffic(count: 3)
        try #require(traffic.count == 3)
        let first = traffic[1].requestAt - traffic[0].replyAt!
        let second = traffic[2].requestAt - traffic[1].replyAt!
        #expect(first >= 79_000_000, "\(first) ns")
        #expect(second < 60_000_000, "\(second) ns: the gap belongs to unit 2 only")
    }

    @Test("pause after connect: the first request waits after the port is opened")
    func pauseAfterConnect() async throws {
        let line = try SerialLine()
        let bus = line.bus()
        let options = TransactionOptions(timeout: .milliseconds(300), pauseAfterConnect: .milliseconds(150))
        let start = ContinuousClock.now
        _ = try await bus.incubator(unit: 1, options: options)
        #expect(ContinuousClock.now - start >= .milliseconds(150))
        let again = ContinuousClock.now
        _ = try await bus.incubator(unit: 1, options: options)
        #expect(ContinuousClock.now - again < .milliseconds(100), "only after connecting")
    }

    @Test("a second bus owner on the same port fails clearly while the first holds it")
    func exclusiveAccess() async throws {
        let line = try SerialLine()
        let first = line.bus("first")
        let second = line.bus("second", holdoff: .zero)
        #expect(try await first.incubator(unit: 1).count == 4)
        let error = await #expect(throws: ModbusError.self) { try await second.incubator(unit: 1) }
        #expect(error?.isTransport == true)
        #expect(error == .transport(errno: EBUSY, "cannot open \(line.settings.port): in use by another process"))
        await first.disconnect()
        #expect(try await second.incubator(unit: 1).count == 4)
    }

    @Test("the port vanishes: transport errors and one bus-down event; it comes back: bus up, reads again")
    func portVanishes() async throws {
        let line = try SerialLine(events: [ScenarioEvent(at: .seconds(1), device: "INC-02", kind: .portVanish, duration: .seconds(1))])
        let bus = line.bus(holdoff: .zero)
        #expect(try await bus.incubator(unit: 1).count == 4)
        #expect(await bus.takeLinkEvents().isEmpty, "the first success is no news")

        line.simulator.advance(by: .seconds(1))
        try await eventually("the port vanishing") { line.simulator.serialDevice(bus: "line") == nil }
        #expect(!FileManager.default.fileExists(atPath: line.settings.port))
        let vanished = await #expect(throws: ModbusError.self) { try await bus.incubator(unit: 1) }
        #expect(vanished?.isTransport == true, "\(String(describing: vanished))")
        let missing = await #expect(throws: ModbusError.self) { try await bus.incubator(unit: 2) }
        #expect(missing == .transport(errno: ENOENT, "cannot open \(line.settings.port): No such file or directory"))
        await #expect(throws: ModbusError.self) { try await bus.incubator(unit: 3) }
        let down = await bus.takeLinkEvents()
        #expect(down.map(\.up) == [false])
        #expect(down.first?.reason == "cannot open \(line.settings.port): No such file or directory")

        line.simulator.advance(by: .seconds(1))
        try await eventually("the port coming back") { line.simulator.serialDevice(bus: "line") != nil }
        #expect(try await bus.incubator(unit: 1).count == 4)
        #expect(await bus.takeLinkEvents().map(\.up) == [true])
        #expect(line.announcements.all.contains("sim: serial port \(line.settings.port) vanished"))
    }

    @Test("while a port is missing, reads within the hold-off fail at once without another open")
    func reconnectHoldoff() async throws {
        let line = try SerialLine(events: [event(.portVanish, for: nil)])
        let bus = line.bus(holdoff: .seconds(5))
        await #expect(throws: ModbusError.self) { try await bus.incubator(unit: 1) }
        line.simulator.advance(by: .seconds(1))  // nothing changes: the port stays gone
        let start = ContinuousClock.now
        for unit in 1...3 { await #expect(throws: ModbusError.self) { try await bus.incubator(unit: unit) } }
        #expect(ContinuousClock.now - start < .milliseconds(50))
        #expect(await bus.takeLinkEvents().count == 1, "down once")
    }
}

@Suite("Modbus RTU settings")
struct RTUSettingsTests {
    @Test("character time and t3.5 follow the format: 11 bits for 8E1/8O1/8N2, 10 for 8N1; 1.75 ms above 19200")
    func timing() {
        #expect(RTUSettings(port: "/x", baud: 19200, parity: .even).bitsPerCharacter == 11)
        #expect(RTUSettings(port: "/x", baud: 19200, parity: .odd).bitsPerCharacter == 11)
        #expect(RTUSettings(port: "/x", baud: 19200, parity: .none, stopBits: 2).bitsPerCharacter == 11)
        #expect(RTUSettings(port: "/x", baud: 19200, parity: .none).bitsPerCharacter == 10)
        #expect(RTUSettings(port: "/x", baud: 9600, parity: .none, dataBits: 7).bitsPerCharacter == 9)
        #expect(RTUSettings(port: "/x", baud: 19200).silence == .nanoseconds(2_005_208))
        #expect(RTUSettings(port: "/x", baud: 38400).silence == .microseconds(1750))
        #expect(RTUSettings(port: "/x", baud: 115200, parity: .none).silence == .microseconds(1750))
    }

    @Test("the wire-time limit of PITFALLS.md: 19200 8E1, 2 registers: 13.8 ms (72/s); 9600: 27.5 ms (36/s)")
    func wireLimit() {
        let fast = RTUSettings(port: "/x", baud: 19200).transactionTime(registers: 2)
        #expect(abs(fast.inNanoseconds - 13_750_000) < 10_000)
        #expect(Int(1e9 / Double(fast.inNanoseconds)) == 72)
        let slow = RTUSettings(port: "/x", baud: 9600).transactionTime(registers: 2)
        #expect(abs(slow.inNanoseconds - 27_500_000) < 10_000)
        #expect(Int(1e9 / Double(slow.inNanoseconds)) == 36)
    }

    @Test("CRC-16/MODBUS of a read request")
    func crc() {
        // 01 03 00 00 00 0A -> C5 CD (the textbook example).
        #expect(CRC16.appending(to: [0x01, 0x03, 0x00, 0x00, 0x00, 0x0A]) == [0x01, 0x03, 0x00, 0x00, 0x00, 0x0A, 0xC5, 0xCD])
        #expect(CRC16.isValid([0x01, 0x03, 0x00, 0x00, 0x00, 0x0A, 0xC5, 0xCD]))
        #expect(!CRC16.isValid([0x01, 0x03, 0x00, 0x00, 0x00, 0x0A, 0xC5, 0xCC]))
    }
}

/// Where the simulator's symlink points.
enum SerialLinkPath {
    static func destination(_ path: String) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: path)
    }
}

/// Raw bytes on the simulator's line, as a misbehaving master or line noise would send them.
@Suite("Modbus RTU: the simulator's framing", .serialized)
struct RTUFramingTests {
    /// The slave end of the line in raw mode, non-blocking.
    final class RawPort {
        let fd: Int32

        init(_ path: String) throws {
            fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK)
            guard fd >= 0 else { throw POSIXError(.ENOENT) }
            var tios = termios()
            tcgetattr(fd, &tios)
            cfmakeraw(&tios)
            tcsetattr(fd, TCSANOW, &tios)
        }

        deinit { close(fd) }

        func send(_ bytes: [UInt8]) {
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        }

        /// Everything that arrives within `window`.
        func receive(for window: Duration) async throws -> [UInt8] {
            var received: [UInt8] = []
            let end = ContinuousClock.now + window
            while ContinuousClock.now < end {
                var buffer = [UInt8](repeating: 0, count: 256)
                let count = read(fd, &buffer, buffer.count)
                if count > 0 { received += buffer[0..<count] }
                try await Task.sleep(for: .milliseconds(2))
            }
            return received
        }
    }

    static func request(unit: UInt8, function: UInt8 = 4, address: UInt16 = 0, count: UInt16 = 2) -> [UInt8] {
        CRC16.appending(to: [unit, function, UInt8(address >> 8), UInt8(address & 0xFF), UInt8(count >> 8), UInt8(count & 0xFF)])
    }

    @Test("garbage, a bad CRC and a request for another unit get no reply, and never cost the line its sync")
    func resynchronises() async throws {
        let line = try SerialLine()
        let port = try RawPort(line.settings.port)
        port.send([0x01, 0x04, 0xFF, 0x00])  // noise: a frame cut short
        #expect(try await port.receive(for: .milliseconds(30)).isEmpty)
        var bad = Self.request(unit: 1)
        bad[7] ^= 0xFF
        port.send(bad)
        #expect(try await port.receive(for: .milliseconds(30)).isEmpty, "bad CRC: no reply")
        port.send(Self.request(unit: 9))
        #expect(try await port.receive(for: .milliseconds(30)).isEmpty, "unit 9 is not on this line")
        port.send(Self.request(unit: 0))
        #expect(try await port.receive(for: .milliseconds(30)).isEmpty, "broadcast reads get no reply")
        port.send(Self.request(unit: 2))
        let reply = try await port.receive(for: .milliseconds(60))
        #expect(reply.count == 9)
        #expect(Array(reply.prefix(3)) == [2, 4, 4])
        #expect(CRC16.isValid(reply))
    }

    @Test("two requests back to back are two frames; another function gets exception 1 after the silence")
    func framesByLengthAndSilence() async throws {
        let line = try SerialLine()
        let port = try RawPort(line.settings.port)
        port.send(Self.request(unit: 1) + Self.request(unit: 3))
        let replies = try await port.receive(for: .milliseconds(80))
        #expect(replies.count == 18)
        #expect(replies.first == 1 && replies.count > 9 && replies[9] == 3)
        port.send(Self.request(unit: 2, function: 6, address: 1, count: 7))  // write single register
        let exception = try await port.receive(for: .milliseconds(60))
        #expect(exception == CRC16.appending(to: [2, 0x86, 1]))
    }

    @Test("the bauds libmodbus 3.1.6 really sets are exactly RTUSettings.supportedBauds; others become 9600")
    func libmodbusBauds() throws {
        let line = try SerialLine(baud: 9600, parity: .none)  // the idle pty sits at 19200: a fallback shows
        let speeds: [Int: speed_t] = [
            110: speed_t(B110), 300: speed_t(B300), 600: speed_t(B600), 1200: speed_t(B1200), 2400: speed_t(B2400),
            4800: speed_t(B4800), 9600: speed_t(B9600), 19200: speed_t(B19200), 38400: speed_t(B38400),
            57600: speed_t(B57600), 115200: speed_t(B115200), 230400: speed_t(B230400), 460800: speed_t(B460800),
            500000: speed_t(B500000), 576000: speed_t(B576000), 921600: speed_t(B921600), 1000000: speed_t(B1000000),
            1152000: speed_t(B1152000), 1500000: speed_t(B1500000), 2000000: speed_t(B2000000), 2500000: speed_t(B2500000),
            3000000: speed_t(B3000000), 3500000: speed_t(B3500000), 4000000: speed_t(B4000000),
        ]
        for baud in speeds.keys.sorted() + [14400, 28800, 250000] {
            guard let context = modbus_new_rtu(line.settings.port, Int32(baud), CChar(UInt8(ascii: "N")), 8, 1) else {
                Issue.record("no context for \(baud)")
                continue
            }
            defer { modbus_free(context) }
            try #require(modbus_connect(context) == 0, "connect at \(baud): errno \(lg_errno())")
            var tios = termios()
            tcgetattr(modbus_get_socket(context), &tios)
            let speed = cfgetospeed(&tios)
            modbus_close(context)
            let supported = RTUSettings.supportedBauds.contains(baud)
            if supported {
                #expect(speed == speeds[baud], "\(baud) baud")
            } else {
                #expect(speed == speed_t(B9600), "\(baud) baud is not in libmodbus's list: it falls back to 9600")
            }
        }
    }
}

@Suite("Simulator: serial port paths")
struct SerialPathTests {
    func config(port: String) -> Config {
        let settings = RTUSettings(port: port, baud: 19200)
        return Config(
            file: "test.yaml", site: "test-site", store: "test.sqlite", alerts: "alerts",
            buses: [Bus(id: "line", transport: .rtu(settings))],
            devices: [Device(id: "INC-01", kind: .incubator, bus: "line", unit: 1, profile: "sim-incubator", every: .seconds(1))],
            profiles: [TestConfig.incubator.name: TestConfig.incubator], specs: [:])
    }


    @Test("a real file at the port path is never replaced")
    func refusesRealFile() throws {
        let folder = try TemporaryFolder("labgate-path")
        let path = folder.file("ttyA")
        try "keep me".write(toFile: path, atomically: true, encoding: .utf8)
        let simulator = Simulator(config: config(port: path), speed: 0, announce: { _ in })
        #expect(throws: SimulatorError(bus: "line", reason: "cannot serve \(path): refusing to replace it: it is not a symlink")) {
            try simulator.start()
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "keep me")
    }

    @Test("a stale link left by an earlier run is replaced, a link to anything else is not; stop removes ours")
    func staleLinks() throws {
        let folder = try TemporaryFolder("labgate-path")
        let path = folder.file("ttyA")
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "/dev/pts/4242")
        let simulator = Simulator(config: config(port: path), speed: 0, announce: { _ in })
        try simulator.start()
        let device = try #require(simulator.serialDevice(bus: "line"))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: path) == device)
        simulator.stop()
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: path)) == nil, "removed on stop")

        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "/dev/null")
        let other = Simulator(config: config(port: path), speed: 0, announce: { _ in })
        #expect(throws: SimulatorError.self) { try other.start() }
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: path) == "/dev/null")
    }

    @Test("a port under /dev is a real adapter: skipped with a message")
    func skipsDevPaths() throws {
        let announcements = Announcements()
        let simulator = Simulator(config: config(port: "/dev/ttyUSB7"), speed: 0, announce: announcements.record)
        #expect(simulator.servedBuses.isEmpty)
        try simulator.start()
        defer { simulator.stop() }
        #expect(announcements.all.contains("sim: skipping bus line (/dev/ttyUSB7): a real device path; name a path outside /dev"))
    }
}
