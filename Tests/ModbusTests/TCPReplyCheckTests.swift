import Foundation
import Modbus
import TestSupport
import Testing

/// What a misrouting gateway or a confused device gets wrong in a reply to `input 0+2` of unit 1.
enum WrongReply: String, CaseIterable, CustomStringConvertible, Sendable {
    case otherTransaction = "another transaction id"
    case otherFunction = "another function code"
    case otherByteCount = "more registers than asked"

    var description: String { rawValue }

    func bytes(answering request: [UInt8]) -> [UInt8] {
        switch self {
        case .otherTransaction:
            let tid = UInt16(request[0]) << 8 | UInt16(request[1])
            return FakeModbusTCPPeer.registers(answering: request, transaction: tid &+ 1)
        case .otherFunction: return FakeModbusTCPPeer.registers(answering: request, function: 3)
        case .otherByteCount: return FakeModbusTCPPeer.registers(answering: request, extraRegisters: 1)
        }
    }
}

@Suite("Modbus TCP replies are checked in full and bounded by one deadline per transaction")
struct TCPReplyCheckTests {
    let options = TransactionOptions(timeout: .milliseconds(300))

    /// Reads input 0+2 of unit 1 from a peer whose first answer is `wrong(request)`, then input 5+2
    /// from the same connection: the first read's outcome and the second's registers.
    func firstAnswerWrong(
        _ wrong: @escaping @Sendable ([UInt8]) -> [UInt8]
    ) async throws -> (error: ModbusError?, words: [UInt16]?, next: [UInt16]) {
        let peer = try FakeModbusTCPPeer { index, request in
            .init(index == 0 ? wrong(request) : FakeModbusTCPPeer.registers(answering: request))
        }
        let bus = ModbusBus(name: "checked", transport: .tcp(host: "127.0.0.1", port: peer.port))
        var error: ModbusError?
        var words: [UInt16]?
        do {
            words = try await bus.read(unit: 1, table: .input, address: 0, count: 2, options: options)
        } catch let failure {
            error = failure
        }
        let next = try await bus.read(unit: 1, table: .input, address: 5, count: 2, options: options)
        return (error, words, next)
    }

    @Test("a reply with protocol id 1 is a bad response, never a value; the connection stays usable")
    func protocolID() async throws {
        let outcome = try await firstAnswerWrong { FakeModbusTCPPeer.registers(answering: $0, protocolID: 1) }
        #expect(outcome.words == nil, "another protocol's bytes taken as registers")
        guard case let .badResponse(text)? = outcome.error else {
            Issue.record("expected a bad response, got \(String(describing: outcome.error))")
            return
        }
        #expect(text.contains("protocol id 1"), "\(text)")
        #expect(outcome.next == [105, 106])
    }

    @Test("a reply from another unit id is a bad response, never a value; the connection stays usable")
    func otherUnit() async throws {
        let outcome = try await firstAnswerWrong { FakeModbusTCPPeer.registers(answering: $0, unit: 2) }
        #expect(outcome.words == nil, "unit 2's registers taken as unit 1's")
        guard case let .badResponse(text)? = outcome.error else {
            Issue.record("expected a bad response, got \(String(describing: outcome.error))")
            return
        }
        #expect(text.contains("unit 2"), "\(text)")
        #expect(outcome.next == [105, 106])
    }

    @Test("a reply with another transaction id, function code or byte count is a bad response", arguments: WrongReply.allCases)
    func otherFields(_ wrong: WrongReply) async throws {
        let outcome = try await firstAnswerWrong { wrong.bytes(answering: $0) }
        #expect(outcome.words == nil)
        guard case .badResponse? = outcome.error else {
            Issue.record("expected a bad response, got \(String(describing: outcome.error))")
            return
        }
        #expect(outcome.next == [105, 106])
    }

    @Test("an exception reply is the device's exception, with its code")
    func exception() async throws {
        let outcome = try await firstAnswerWrong { request in
            Array(request[0..<4]) + [0, 3, request[6], request[7] | 0x80, 2]
        }
        #expect(outcome.error == .exception(.illegalDataAddress))
        #expect(outcome.next == [105, 106])
    }

    @Test("a device trickling its reply, each byte inside the byte timeout, fails at its timeout, not after bytes × byte timeout")
    func trickle() async throws {
        let gap = Duration.milliseconds(30)
        let peer = try FakeModbusTCPPeer { _, request in .init(FakeModbusTCPPeer.registers(answering: request), byteGap: gap) }
        let bus = ModbusBus(name: "trickle", transport: .tcp(host: "127.0.0.1", port: peer.port))
        #expect(bus.byteTimeout(for: options.timeout) > gap, "each byte must come within the byte timeout")
        // 20 registers: a 47-byte reply, 1.4 s at this pace.
        let start = ContinuousClock.now
        await #expect(throws: ModbusError.timeout) {
            try await bus.read(unit: 1, table: .input, address: 0, count: 20, options: options)
        }
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= options.timeout - .milliseconds(5), "\(elapsed)")
        #expect(elapsed < options.timeout * 2, "the trickle held the bus for \(elapsed)")
    }

    @Test("a reply that arrives in pieces within the timeout is read whole")
    func piecesWithinTimeout() async throws {
        let peer = try FakeModbusTCPPeer { _, request in
            .init(FakeModbusTCPPeer.registers(answering: request), byteGap: .milliseconds(10))
        }
        let bus = ModbusBus(name: "pieces", transport: .tcp(host: "127.0.0.1", port: peer.port))
        let words = try await bus.read(unit: 7, table: .holding, address: 40, count: 2, options: options)
        #expect(words == [140, 141])
    }
}
