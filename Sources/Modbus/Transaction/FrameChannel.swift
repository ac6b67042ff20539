import CModbus
import Glibc

/// Sends a request and receives its reply on a connected socket or open tty (non-blocking), bounded
/// by the monotonic clock: nothing here waits past the deadline it is given. Replaces libmodbus's
/// receive, whose response timeout bounds only the first byte and whose byte timeout restarts with
/// every chunk, so a device trickling its reply could hold the bus for bytes × byte timeout.
struct FrameChannel {
    let fd: Int32
    /// A socket is written with `send(MSG_NOSIGNAL)`: a peer that closed must not raise SIGPIPE.
    let isSocket: Bool

    /// The largest frame: an MBAP header with a 253-byte PDU, or unit, PDU and CRC on a serial line.
    static let maxFrame = 260

    /// Writes all of `bytes`; a request that cannot be written by `deadline` means the link is stuck.
    func send(_ bytes: [UInt8], deadline: Int64) throws(ModbusError) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { buffer in
                isSocket
                    ? Glibc.send(fd, buffer.baseAddress! + sent, buffer.count - sent, Int32(MSG_NOSIGNAL))
                    : Glibc.write(fd, buffer.baseAddress! + sent, buffer.count - sent)
            }
            if n > 0 {
                sent += n
                continue
            }
            let code = n < 0 ? lg_errno() : EIO
            if code == EINTR { continue }
            guard code == EAGAIN || code == EWOULDBLOCK else { throw ModbusError(errno: code) }
            guard try wait(for: Int16(POLLOUT), until: deadline) != nil else {
                throw .transport(errno: ETIMEDOUT, "request not sent within the timeout")
            }
        }
    }

    /// Reads one frame, as long as `length` says (see `ModbusFraming.replyLength`), and not a byte
    /// more. The first byte may take until `deadline`; each later chunk must come within `gap` of
    /// the one before, and the whole frame by `deadline`. Missing either is a timeout.
    func receive(
        deadline: Int64, gap: Int64, length: (ArraySlice<UInt8>) throws(ModbusError) -> Int
    ) throws(ModbusError) -> ArraySlice<UInt8> {
        var buffer = [UInt8](repeating: 0, count: Self.maxFrame)
        var count = 0
        var need = try length(buffer[..<0])
        var waitUntil = deadline
        // Nothing can have come yet for a request just sent: wait before the first read. After a
        // chunk, read again at once (the rest of a frame usually comes with it).
        var readable = false
        while count < need {
            var failed = false
            if !readable {
                guard let events = try wait(for: Int16(POLLIN), until: waitUntil) else { throw .timeout }
                failed = events & Int16(POLLHUP | POLLERR) != 0
            }
            let n = try read(into: &buffer, at: count, max: min(need, Self.maxFrame) - count)
            readable = n > 0
            guard n > 0 else {
                // Hung up, yet nothing to read and no error from read: do not spin until the deadline.
                if failed { throw ModbusError(errno: ECONNRESET) }
                continue
            }
            count += n
            need = try length(buffer[..<count])
            guard need <= Self.maxFrame else { throw .badResponse("a reply of \(need) bytes") }
            waitUntil = min(deadline, Monotonic.now() + gap)
        }
        return buffer[..<count]
    }

    /// Bytes read into `buffer` at `offset`: 0 when none are waiting. The end of a socket's stream
    /// (peer closed) and read errors are transport errors, as libmodbus reports them. A tty in raw
    /// mode (VMIN 0, VTIME 0, as libmodbus sets it) reads 0 bytes when none are waiting, whatever
    /// O_NONBLOCK says; its hang-up shows in poll(2) instead.
    private func read(into buffer: inout [UInt8], at offset: Int, max: Int) throws(ModbusError) -> Int {
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + offset, max) }
            if n > 0 { return n }
            if n == 0 {
                if isSocket { throw ModbusError(errno: ECONNRESET) }
                return 0
            }
            let code = lg_errno()
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return 0 }
            throw ModbusError(errno: code)
        }
    }

    /// Waits until the descriptor is ready for `events` or has failed (which the next call
    /// reports): the events that came, nil when `deadline` passed first.
    private func wait(for events: Int16, until deadline: Int64) throws(ModbusError) -> Int16? {
        while true {
            let left = deadline - Monotonic.now()
            guard left > 0 else { return nil }
            // poll(2) counts milliseconds: round up, so that a wait never ends before its deadline.
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let rc = poll(&entry, 1, Int32(clamping: (left + 999_999) / 1_000_000))
            if rc > 0 {
                if entry.revents & Int16(POLLNVAL) != 0 { throw ModbusError(errno: EBADF) }
                return entry.revents
            }
            if rc < 0, lg_errno() != EINTR { throw ModbusError(errno: lg_errno()) }
        }
    }
}
