import Foundation
import Glibc
import Modbus
import Synchronization
import Testing

/// A one-connection Modbus TCP peer on loopback that answers each request with scripted bytes.
private final class ScriptedPeer: @unchecked Sendable {
    let port: Int
    private let listener: Int32

    /// `replies` maps each received request (MBAP + PDU) to the bytes sent back; nil sends nothing.
    init(replies: @escaping @Sendable (Int, [UInt8]) -> [UInt8]?) throws {
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listener = listener
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 1) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        guard ok else { throw POSIXError(.EADDRINUSE) }
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread {
            let fd = accept(listener, nil, nil)
            defer { close(fd) }
            var index = 0
            while true {
                var request = [UInt8](repeating: 0, count: 260)
                let n = recv(fd, &request, request.count, 0)
                if n <= 0 { return }
                if let reply = replies(index, Array(request[0..<n])) {
                    _ = reply.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                }
                index += 1
            }
        }
    }

    deinit { close(listener) }

    /// A correct reply to a read of `count` registers, each holding its own address + 100.
    static func answer(_ request: [UInt8]) -> [UInt8] {
        let address = Int(request[8]) << 8 | Int(request[9])
        let count = Int(request[10]) << 8 | Int(request[11])
        var pdu: [UInt8] = [request[7], UInt8(count * 2)]
        for register in address..<(address + count) { pdu += [UInt8((register + 100) >> 8), UInt8((register + 100) & 0xFF)] }
        let length = pdu.count + 1
        return Array(request[0..<4]) + [UInt8(length >> 8), UInt8(length & 0xFF), request[6]] + pdu
    }
}

@Test("a garbled reply is a bad response, never a value, and the next request gets its own answer")
func garbageThenRecovery() async throws {
    let peer = try ScriptedPeer { index, request in
        switch index {
        case 0: [0xDE, 0xAD, 0xBE, 0xEF, 0x00, 0x03, 0x01, 0x04, 0x02]  // wrong transaction, truncated
        default: ScriptedPeer.answer(request)
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
    let peer = try ScriptedPeer { index, request in
        if index == 0 {
            Thread.sleep(forTimeInterval: 0.3)  // answer the first request too late
        }
        return ScriptedPeer.answer(request)
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
    let peer = try ScriptedPeer { _, request in
        arrivals.withLock { $0.append(Monotonic.now()) }
        return ScriptedPeer.answer(request)
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
