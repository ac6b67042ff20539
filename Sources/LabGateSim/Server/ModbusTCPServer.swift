import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A Modbus TCP server on POSIX sockets: one thread accepts, one thread per connection reads
/// MBAP frames and answers each with what `handler` says (fault injection included).
///
/// A frame that cannot be Modbus (protocol id not 0, impossible length, a read request of the
/// wrong size) or a connection that ends mid-frame closes that connection only. `stop()` closes the
/// listener and every connection and returns once all threads have ended, so the port can be
/// bound again at once (the listener sets SO_REUSEADDR).
public final class ModbusTCPServer: Sendable {
    public let host: String
    /// The port asked for; 0 lets the system choose (see `port`).
    public let requestedPort: Int
    private let handler: any ModbusRequestHandler
    private let state = Mutex(State())
    private let threads = DispatchGroup()

    private struct State {
        var listener: Int32?
        var connections: Set<Int32> = []
        var boundPort: Int?
        var running = false
    }

    public init(host: String, port: Int, handler: any ModbusRequestHandler) {
        self.host = host
        self.requestedPort = port
        self.handler = handler
    }

    deinit {
        stop()
    }

    /// The port it listens on while running.
    public var port: Int? { state.withLock { $0.boundPort } }

    public var isRunning: Bool { state.withLock { $0.running } }

    /// Where it listens, e.g. `127.0.0.1:5020`.
    public var endpoint: String { Endpoint.text(host: host, port: port ?? requestedPort) }

    /// Binds and starts accepting; does nothing if already running.
    public func start() throws(ModbusServerError) {
        if isRunning { return }
        let fd = try Socket.makeListener(host: host, port: requestedPort)
        let port = Socket.localPort(fd) ?? requestedPort
        state.withLock {
            $0.listener = fd
            $0.boundPort = port
            $0.running = true
        }
        threads.enter()
        Thread.detachNewThread { [self] in
            acceptLoop(fd)
            threads.leave()
        }
    }

    /// Closes the listener and every connection; returns when all of its threads have ended.
    public func stop() {
        let wasRunning = state.withLock { state in
            let wasRunning = state.running
            state.running = false
            // Shut down (not close) under the lock: the owning thread closes each descriptor after
            // removing it from the state, so a descriptor number is never reused behind our back.
            if let listener = state.listener { shutdown(listener, Int32(SHUT_RDWR)) }
            for fd in state.connections { shutdown(fd, Int32(SHUT_RDWR)) }
            return wasRunning
        }
        if wasRunning { threads.wait() }
        state.withLock { $0.boundPort = nil }
    }

    private func acceptLoop(_ listener: Int32) {
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                let code = errno
                if code == EINTR || code == ECONNABORTED { continue }
                if state.withLock({ $0.running }), code == EMFILE || code == ENFILE || code == ENOBUFS || code == ENOMEM {
                    usleep(50_000)
                    continue
                }
                break
            }
            let accepted = state.withLock { state in
                guard state.running else { return false }
                state.connections.insert(fd)
                return true
            }
            guard accepted else {
                close(fd)
                break
            }
            Socket.setNoDelay(fd)
            threads.enter()
            Thread.detachNewThread { [self] in
                serve(fd)
                state.withLock { _ = $0.connections.remove(fd) }
                close(fd)
                threads.leave()
            }
        }
        state.withLock { $0.listener = nil }
        close(listener)
    }

    /// Answers requests on one connection until it ends, turns to garbage, or the server stops.
    private func serve(_ fd: Int32) {
        while let headerBytes = Socket.read(fd, count: MBAPHeader.size) {
            guard let header = MBAPHeader(bytes: headerBytes),
                let pdu = Socket.read(fd, count: header.pduLength),
                let request = ModbusRequest(pdu: pdu[...])
            else { return }
            let reply = handler.reply(unit: header.unit, request: request)
            guard let replyPDU = reply.pdu(for: request) else { continue }
            let delay = handler.wireFaults(unit: header.unit).delay
            if delay > .zero { Thread.sleep(forTimeInterval: Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18) }
            let frame = MBAPHeader.frame(transaction: header.transaction, unit: header.unit, pdu: replyPDU)
            guard Socket.write(fd, frame) else { return }
        }
    }
}
