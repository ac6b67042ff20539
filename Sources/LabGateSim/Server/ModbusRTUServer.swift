import Dispatch
import Foundation
import Modbus
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One request seen on a simulated serial line, with when it came and when it was answered
/// (monotonic nanoseconds, `Monotonic.now()`): lets tests check how a client paces the line.
public struct RTUTraffic: Sendable, Hashable {
    public var unit: UInt8
    public var function: UInt8
    /// When the request's first byte arrived.
    public var requestAt: Int64
    /// When the reply was written (nil: no reply).
    public var replyAt: Int64?
    /// Bytes of the reply as sent (after fault injection).
    public var replyLength: Int
}

/// A Modbus RTU server on a pseudo-terminal whose slave appears at the config's `port` path.
///
/// It frames RTU itself (a libmodbus RTU server loses sync for good after a request for another
/// unit): a frame ends after its expected length (8 bytes for functions 1, 3, 4, 5 and 6) or at a silence
/// of t3.5; a frame whose CRC is wrong, or for a unit not on the line, gets no reply, and bytes
/// that do not make a frame are dropped at the next silence, so it never loses sync. Each reply is
/// written when its last byte would arrive on a real line: request, t3.5, reply at the line's baud
/// and character format, so a simulated line is never faster than a real one.
///
/// While the handler says the port is gone (`port_vanish`), the pty and the symlink are removed;
/// when it comes back, a new pty appears at the same path.
public final class ModbusRTUServer: Sendable {
    public let path: String
    public let settings: RTUSettings
    private let handler: any SerialLineHandler
    private let announce: @Sendable (String) -> Void
    private let state = Mutex(State())
    private let thread = DispatchGroup()
    /// Kept at most; the oldest are dropped.
    static let trafficLimit = 10_000

    private struct State {
        var running = false
        var slavePath: String?
        var traffic: [RTUTraffic] = []
    }

    public init(
        settings: RTUSettings, handler: any SerialLineHandler, announce: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.path = settings.port
        self.settings = settings
        self.handler = handler
        self.announce = announce
    }

    deinit {
        stop()
    }

    public var isRunning: Bool { state.withLock { $0.running } }

    /// The pty's slave (`/dev/pts/N`) while the port exists.
    public var slavePath: String? { state.withLock { $0.slavePath } }

    /// Requests seen so far, oldest first.
    public var traffic: [RTUTraffic] { state.withLock { $0.traffic } }

    /// Creates the pty and the symlink (unless the port is gone right now) and starts serving.
    public func start() throws(SerialServerError) {
        if isRunning { return }
        var port: PseudoTerminal?
        if handler.isPortPresent { port = try open() }
        state.withLock { $0.running = true }
        thread.enter()
        Thread.detachNewThread { [self, port] in
            serve(port)
            thread.leave()
        }
    }

    /// Stops serving, closes the pty and removes the symlink; returns when its thread has ended.
    public func stop() {
        let wasRunning = state.withLock { state in
            defer { state.running = false }
            return state.running
        }
        if wasRunning { thread.wait() }
    }

    private func open() throws(SerialServerError) -> PseudoTerminal {
        let port = try PseudoTerminal.open(for: path, baud: settings.baud)
        do {
            try SerialLink.create(path, to: port.slavePath)
        } catch {
            port.close()
            throw error
        }
        state.withLock { $0.slavePath = port.slavePath }
        return port
    }

    private func close(_ port: PseudoTerminal) {
        SerialLink.remove(path, pointingTo: port.slavePath)
        port.close()
        state.withLock { $0.slavePath = nil }
    }

    private func record(_ entry: RTUTraffic) {
        state.withLock { state in
            if state.traffic.count >= Self.trafficLimit { state.traffic.removeFirst(state.traffic.count / 2) }
            state.traffic.append(entry)
        }
    }

    /// The server thread: keeps the port present or absent as the handler says, frames requests,
    /// answers them.
    private func serve(_ initial: PseudoTerminal?) {
        var port = initial
        var framer = RTUFramer(silence: settings.silence.inNanoseconds)
        var buffer = [UInt8](repeating: 0, count: 512)
        var lastReplyAt = Int64.min / 2
        while state.withLock({ $0.running }) {
            let present = handler.isPortPresent
            if let current = port, !present {
                close(current)
                port = nil
                framer.reset()
                announce("sim: serial port \(path) vanished")
            } else if port == nil, present {
                do {
                    port = try open()
                    announce("sim: serial port \(path) is back on \(port!.slavePath)")
                } catch {
                    announce("sim: \(error)")
                    usleep(100_000)
                    continue
                }
            }
            guard let current = port else {
                usleep(10_000)
                continue
            }
            var descriptor = pollfd(fd: current.master, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, framer.pollTimeout(now: Monotonic.now()))
            var hungUp = false
            if ready > 0, descriptor.revents & Int16(POLLIN) != 0 {
                let count = read(current.master, &buffer, buffer.count)
                if count > 0 {
                    framer.append(buffer[0..<count], at: Monotonic.now())
                } else if count < 0, errno == EIO {
                    hungUp = true
                }
            } else if ready > 0, descriptor.revents & Int16(POLLHUP) != 0 {
                hungUp = true
            }
            if hungUp {
                // No client has the slave open: nothing to serve until one does.
                framer.reset()
                usleep(5_000)
                continue
            }
            for frame in framer.frames(now: Monotonic.now()) {
                answer(frame, on: current, lastReplyAt: &lastReplyAt)
            }
        }
        if let port { close(port) }
    }

    /// Answers one well-formed request frame (CRC checked), after its wire time.
    private func answer(_ frame: RTUFramer.Frame, on port: PseudoTerminal, lastReplyAt: inout Int64) {
        let unit = frame.bytes[0]
        let pdu = frame.bytes[1..<(frame.bytes.count - 2)]
        var entry = RTUTraffic(unit: unit, function: pdu.first ?? 0, requestAt: frame.start, replyAt: nil, replyLength: 0)
        defer { record(entry) }
        // Broadcast and units not on this line never answer on a serial line.
        guard unit != 0, handler.hasUnit(unit), let request = ModbusRequest(pdu: pdu) else { return }
        guard let replyPDU = handler.reply(unit: unit, request: request).pdu(for: request) else { return }
        let faults = handler.wireFaults(unit: unit)
        let replyUnit = faults.wrongUnit ? (unit % 247) + 1 : unit
        var reply = CRC16.appending(to: [replyUnit] + replyPDU)
        if faults.corruptCRC { reply[reply.count - 1] ^= 0x5A }
        if faults.truncate { reply = Array(reply.prefix(max(1, reply.count / 2))) }
        // The last byte of the reply arrives after: the request on the wire, the silence that ends
        // it, the reply on the wire (plus any injected slowness).
        // (Requests sent back to back share a start time: the line is not free before the previous
        // reply and a silence have passed either.)
        let replyTime = settings.wireTime(bytes: reply.count).inNanoseconds + faults.delay.inNanoseconds
        let due = max(
            frame.start + settings.wireTime(bytes: frame.bytes.count).inNanoseconds + settings.silence.inNanoseconds + replyTime,
            lastReplyAt + settings.silence.inNanoseconds + replyTime)
        Monotonic.sleep(until: due)
        let written = reply.withUnsafeBytes { write(port.master, $0.baseAddress, $0.count) }
        if written == reply.count {
            entry.replyAt = Monotonic.now()
            entry.replyLength = reply.count
            lastReplyAt = entry.replyAt!
        }
    }
}

/// Cuts RTU request frames out of the byte stream: by length for functions 1, 3, 4, 5 and 6, by silence
/// (t3.5) otherwise. Garbage is dropped up to the next silence. Times in monotonic nanoseconds.
struct RTUFramer {
    struct Frame {
        var bytes: [UInt8]
        /// When its first byte arrived.
        var start: Int64
    }

    let silence: Int64
    /// Functions whose request is 8 bytes on the wire (unit, function, address, count or value, CRC).
    static let fixedLength: Set<UInt8> = [1, 3, 4, 5, 6]
    private var pending: [UInt8] = []
    private var start: Int64 = 0
    private var lastByte: Int64 = 0
    /// Dropping bytes until the line has been silent for t3.5.
    private var discarding = false

    init(silence: Int64) {
        self.silence = silence
    }

    mutating func reset() {
        pending.removeAll()
        discarding = false
    }

    mutating func append(_ bytes: ArraySlice<UInt8>, at time: Int64) {
        if discarding, time - lastByte >= silence { discarding = false }
        if pending.isEmpty { start = time }
        lastByte = time
        if !discarding { pending += bytes }
    }

    /// How long to wait for bytes: until the current frame's silence runs out, or a while when idle.
    func pollTimeout(now: Int64) -> Int32 {
        guard !pending.isEmpty || discarding else { return 20 }
        let left = lastByte + silence - now
        return Int32(max(1, min(20, (left + 999_999) / 1_000_000)))
    }

    /// Complete frames with a good CRC, in order. A broken frame is dropped whole.
    mutating func frames(now: Int64) -> [Frame] {
        var result: [Frame] = []
        while pending.count >= 2, Self.fixedLength.contains(pending[1]), pending.count >= 8 {
            let frame = Array(pending[0..<8])
            pending.removeFirst(8)
            if CRC16.isValid(frame) {
                result.append(Frame(bytes: frame, start: start))
            } else {
                // Lost sync: whatever follows belongs to the same garbage until the line is silent.
                pending.removeAll()
                discarding = true
                return result
            }
        }
        if now - lastByte >= silence {
            if pending.count >= 4, CRC16.isValid(pending) {
                result.append(Frame(bytes: pending, start: start))
            }
            pending.removeAll()
            discarding = false
        }
        return result
    }
}
