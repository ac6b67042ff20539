import Foundation
import Glibc
import Modbus
import Synchronization
import TestSupport
import Testing

@Test("a garbled reply is a bad response, never a value, and the next request gets its own answer")
func garbageThenRecovery() async throws {
    let peer = try FakeModbusTCPPeer { index, request in
        switch index {
        case 0: .init([0xDE, 0xAD, 0xBE, 0xEF, 0x00, 0x03, 0x01, 0x04, 0x02])  // wrong transaction, truncated
        default: .init(FakeModbusTCPPeer.registers(answering: request))
        }
    }
    let bus = ModbusBus(name: "garbage", transport: .tcp(host: "127.0.0.1", port: peer.port))
    let error = await #expect(throws: ModbusError.self) {
        try await bus.read(unit: 1, table: .input, address: 0, count: 2, options: .init(timeout: .milliseconds(300)))
    }
    #expect(error.map { !$0.isTransport && $0.needsFlush } == true, "\(String(describing: error))")
    let words = try await bus.read(unit: 1, table: .input, address: 5, count: 2, options: .init(timeout: .milliseconds(300)))
    #expect(words == [105, 106])
}

@Test("a reply that arrives after the timeout is flushed, not taken as the next answer")
func lateReplyIsFlushed() async throws {
    let peer = try FakeModbusTCPPeer { index, request in
        if index == 0 {
            Thread.sleep(forTimeInterval: 0.3)  // answer the first request too late
        }
        return .init(FakeModbusTCPPeer.registers(answering: request))
    }
    let bus = ModbusBus(name: "late", transport: .tcp(host: "127.0.0.1", port: peer.port))
    await #expect(throws: ModbusError.timeout) {
        try await bus.read(unit: 1, table: .input, address: 0, count: 1, options: .init(timeout: .milliseconds(100)))
    }
    try await Task.sleep(for: .milliseconds(400))
    let words = try await bus.read(unit: 1, table: .input, address: 7, count: 1, options: .init(timeout: .milliseconds(500)))
    #expect(words == [107], "the late answer to address 0 (100) must not pass for this one")
}

@Test("on TCP too, the bus owner keeps a device's minimum gap and pause after connect")
func tcpGapAndPause() async throws {
    let arrivals = Mutex<[Int64]>([])
    let peer = try FakeModbusTCPPeer { _, request in
        arrivals.withLock { $0.append(Monotonic.now()) }
        return .init(FakeModbusTCPPeer.registers(answering: request))
    }
    let bus = ModbusBus(name: "paced", transport: .tcp(host: "127.0.0.1", port: peer.port))
    let options = TransactionOptions(timeout: .milliseconds(500), minimumGap: .milliseconds(120), pauseAfterConnect: .milliseconds(150))
    let start = Monotonic.now()
    for _ in 0..<3 {
        _ = try await bus.read(unit: 1, table: .holding, address: 0, count: 1, options: options)
    }
    let times = arrivals.withLock { $0 }
    try #require(times.count == 3)
    #expect(times[0] - start >= 150_000_000, "pause after connect")
    #expect(times[1] - times[0] >= 120_000_000, "minimum gap")
    #expect(times[2] - times[1] >= 120_000_000, "minimum gap")
    #expect(times[2] - times[1] < 400_000_000)
}
