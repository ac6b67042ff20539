import CSerial
import Foundation
import Glibc
import Modbus
import Synchronization
import Testing

/// One Modbus RTU device on a pty that sends its replies a byte at a time: the bus owner opens
/// the pty's slave as it would a USB adapter.
private final class TricklingRTUDevice: @unchecked Sendable {
    let port: String
    private let master: Int32
    private let control = Control()

    /// Shared with the device's thread.
    private final class Control: Sendable {
        let stopping = Atomic<Bool>(false)
        let done = DispatchSemaphore(value: 0)
    }

    /// Answers each read request with registers holding their address + 100, `gap` before each byte.
    init(gap: Duration) throws {
        var name = [CChar](repeating: 0, count: 128)
        master = lg_pty_open(&name, name.count)
        guard master >= 0 else { throw POSIXError(.ENODEV) }
        port = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let master = master
        Thread.detachNewThread { [control] in
            defer { control.done.signal() }
            var request: [UInt8] = []
            while !control.stopping.load(ordering: .relaxed) {
                var ready = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
                guard poll(&ready, 1, 20) >= 0 else { return }
                guard ready.revents & Int16(POLLIN) != 0 else { continue }
                var byte: UInt8 = 0
                guard read(master, &byte, 1) == 1 else { continue }
                request.append(byte)
                guard request.count == 8 else { continue }
                defer { request = [] }
                guard CRC16.isValid(request) else { continue }
                let address = Int(request[2]) << 8 | Int(request[3])
                let count = Int(request[4]) << 8 | Int(request[5])
                var reply: [UInt8] = [request[0], request[1], UInt8(count * 2)]
                for register in address..<(address + count) {
                    reply += [UInt8((register + 100) >> 8), UInt8((register + 100) & 0xFF)]
                }
                for byte in CRC16.appending(to: reply) {
                    Thread.sleep(forTimeInterval: Double(gap.components.seconds) + Double(gap.components.attoseconds) / 1e18)
                    if control.stopping.load(ordering: .relaxed) { return }
                    var byte = byte
                    _ = write(master, &byte, 1)
                }
            }
        }
    }

    deinit {
        control.stopping.store(true, ordering: .relaxed)
        control.done.wait()
        close(master)
    }
}

@Suite("Modbus RTU replies are bounded by one deadline per transaction", .serialized)
struct RTUDeadlineTests {
    // 8N1: a pty refuses parity (PITFALLS.md).
    fileprivate func bus(_ device: TricklingRTUDevice) -> ModbusBus {
        ModbusBus(name: "pty", transport: .rtu(RTUSettings(port: device.port, baud: 19200, parity: .none)))
    }

    @Test("an RTU device trickling its reply, each byte inside the byte timeout, fails at its timeout; its late bytes are flushed")
    func trickle() async throws {
        let device = try TricklingRTUDevice(gap: .milliseconds(30))
        let bus = bus(device)
        let options = TransactionOptions(timeout: .milliseconds(300))
        #expect(bus.byteTimeout(for: options.timeout) > .milliseconds(30), "each byte must come within the byte timeout")
        // 20 registers: a 45-byte reply, 1.35 s at this pace.
        let start = ContinuousClock.now
        await #expect(throws: ModbusError.timeout) {
            try await bus.read(unit: 1, table: .input, address: 0, count: 20, options: options)
        }
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= options.timeout - .milliseconds(5), "\(elapsed)")
        #expect(elapsed < options.timeout * 2, "the trickle held the line for \(elapsed)")
        // The rest of that reply comes while nobody waits for it; the next request gets its own.
        try await Task.sleep(for: .milliseconds(1200))
        let words = try await bus.read(unit: 1, table: .input, address: 30, count: 2, options: .init(timeout: .seconds(1)))
        #expect(words == [130, 131])
    }

    @Test("an RTU reply that arrives in pieces within the timeout is read whole")
    func piecesWithinTimeout() async throws {
        let device = try TricklingRTUDevice(gap: .milliseconds(10))
        let bus = bus(device)
        let words = try await bus.read(unit: 3, table: .holding, address: 8, count: 2, options: .init(timeout: .milliseconds(300)))
        #expect(words == [108, 109])
    }
}
