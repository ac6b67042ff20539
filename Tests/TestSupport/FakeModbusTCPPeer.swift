import Foundation
import Glibc
import Synchronization

/// A Modbus TCP peer on loopback that answers as a test says: any number of connections, each
/// request read as one frame (MBAP header and PDU), each answer sent at once or a byte at a time.
/// It stands in for devices and gateways that misbehave in ways the simulator does not.
public final class FakeModbusTCPPeer: @unchecked Sendable {
    /// What to send back for one request.
    public struct Answer: Sendable {
        public var bytes: [UInt8]
        /// Pause before each byte; zero sends the whole answer in one write.
        public var byteGap: Duration

        public init(_ bytes: [UInt8], byteGap: Duration = .zero) {
            self.bytes = bytes
            self.byteGap = byteGap
        }
    }

    public let port: Int
    private let listener: Int32
    private let state = State()

    /// What the peer's threads share: open connections, requests seen.
    private final class State: Sendable {
        let connections = Mutex<Set<Int32>>([])
        let seen = Mutex(0)
    }

    /// `answer(index, request)` decides the answer to the request numbered `index` (from 0, over
    /// all connections); nil sends nothing.
    public init(answer: @escaping @Sendable (Int, [UInt8]) -> Answer?) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = loopbackAddress(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 8) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        guard ok else {
            close(listener)
            throw POSIXError(.EADDRINUSE)
        }
        self.listener = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [state] in
            while true {
                let fd = accept(listener, nil, nil)
                guard fd >= 0 else { return }  // shut down by stop()
                state.connections.withLock { _ = $0.insert(fd) }
                Thread.detachNewThread {
                    Self.serve(fd, state: state, answer: answer)
                    state.connections.withLock { _ = $0.remove(fd) }
                    close(fd)
                }
            }
        }
    }

    deinit {
        stop()
        close(listener)
    }

    /// Requests received so far.
    public var requests: Int { state.seen.withLock { $0 } }

    /// Stops accepting and ends every connection.
    public func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        state.connections.withLock { for fd in $0 { shutdown(fd, Int32(SHUT_RDWR)) } }
    }

    private static func serve(_ fd: Int32, state: State, answer: @Sendable (Int, [UInt8]) -> Answer?) {
        while let header = readExactly(fd, 7) {
            let length = Int(header[4]) << 8 | Int(header[5])
            guard length >= 2, let pdu = readExactly(fd, length - 1) else { return }
            let index = state.seen.withLock { count in
                defer { count += 1 }
                return count
            }
            guard let reply = answer(index, header + pdu) else { continue }
            if reply.byteGap == .zero {
                guard sendAll(fd, reply.bytes) else { return }
            } else {
                for byte in reply.bytes {
                    Thread.sleep(forTimeInterval: Double(reply.byteGap.components.seconds) + Double(reply.byteGap.components.attoseconds) / 1e18)
                    guard sendAll(fd, [byte]) else { return }
                }
            }
        }
    }

    private static func readExactly(_ fd: Int32, _ count: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = bytes.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, count - got, 0) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return nil }
            got += n
        }
        return bytes
    }

    private static func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) == $0.count }
    }

    /// The answer a correct device gives to a read request (function 3 or 4), each register
    /// holding its own address + 100; header fields and the PDU's can be made wrong one by one.
    public static func registers(
        answering request: [UInt8], transaction: UInt16? = nil, protocolID: UInt16 = 0, unit: UInt8? = nil,
        function: UInt8? = nil, extraRegisters: Int = 0
    ) -> [UInt8] {
        let address = Int(request[8]) << 8 | Int(request[9])
        let count = (Int(request[10]) << 8 | Int(request[11])) + extraRegisters
        var pdu: [UInt8] = [function ?? request[7], UInt8(truncatingIfNeeded: count * 2)]
        for register in address..<(address + count) {
            pdu += [UInt8(truncatingIfNeeded: (register + 100) >> 8), UInt8(truncatingIfNeeded: register + 100)]
        }
        let length = pdu.count + 1
        let tid = transaction ?? (UInt16(request[0]) << 8 | UInt16(request[1]))
        return [
            UInt8(tid >> 8), UInt8(tid & 0xFF), UInt8(protocolID >> 8), UInt8(protocolID & 0xFF),
            UInt8(length >> 8), UInt8(length & 0xFF), unit ?? request[6],
        ] + pdu
    }
}
