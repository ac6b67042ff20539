import Synchronization
import Foundation

/// Where a bus is reached.
public enum ModbusTransport: Sendable, Hashable, CustomStringConvertible {
    case tcp(host: String, port: Int)
    /// A serial line (RS-485 through an adapter), Modbus RTU framing.
    case rtu(RTUSettings)

    public var description: String {
        switch self {
        case let .tcp(host, port): "tcp \(host):\(port)"
        case let .rtu(settings): "rtu \(settings)"
        }
    }

    /// Silence the bus owner keeps between the end of one frame and the next request: t3.5 on a
    /// serial line (libmodbus does not), nothing on TCP.
    public var interFrameSilence: Duration {
        switch self {
        case .tcp: .zero
        case let .rtu(settings): settings.silence
        }
    }
}

/// The register tables a device is read from; the names are the config's (`table: holding`).
public enum ModbusTable: String, Sendable, Hashable, CaseIterable {
    case holding, input
}

/// How one device wants its transactions paced (its quirks).
public struct TransactionOptions: Sendable, Hashable {
    /// How long to wait for a reply before the attempt counts as a timeout.
    public var timeout: Duration
    /// Least time between the end of the previous transaction on the bus and a request to this device.
    public var minimumGap: Duration
    /// Wait after (re)connecting before the first request (some gateways need it).
    public var pauseAfterConnect: Duration

    public init(timeout: Duration = .seconds(1), minimumGap: Duration = .zero, pauseAfterConnect: Duration = .zero) {
        self.timeout = timeout
        self.minimumGap = minimumGap
        self.pauseAfterConnect = pauseAfterConnect
    }
}

/// The bus came down (its port or endpoint could not be opened) or back (a transaction was
/// answered again). Collected by the bus owner, taken by its poller with `takeLinkEvents()`.
public struct LinkEvent: Sendable, Hashable {
    public var up: Bool
    /// UTC wall-clock time it happened.
    public var time: Date
    /// Why it went down, e.g. "cannot open /dev/ttyUSB0: No such file or directory".
    public var reason: String?

    public init(up: Bool, time: Date, reason: String? = nil) {
        self.up = up
        self.time = time
        self.reason = reason
    }
}

/// The single owner of one bus's libmodbus context: every call runs on the bus's own thread, one
/// at a time, so a slow device delays only its own bus.
///
/// It paces the line: before each request it waits until the inter-frame silence (t3.5 on RTU),
/// the device's `minimumGap` (both measured from the end of the previous transaction on the bus)
/// and the device's `pauseAfterConnect` (measured from the (re)connection) have passed, sleeping on
/// its own thread against the monotonic clock.
///
/// Bounded wait: a transaction takes at most the device's timeout from its request to the last
/// byte of its reply, however the reply is cut into chunks; within it, each chunk after the first
/// must come within `byteTimeout(for:)` of the one before (a reply cut short fails early).
public actor ModbusBus {
    public nonisolated let name: String
    public nonisolated let transport: ModbusTransport
    /// After a failed (re)connect, further reads within this time fail at once with the same error
    /// instead of each paying another connect attempt (one dead endpoint costs one timeout per
    /// round of polls, not one per device and retry).
    public nonisolated let reconnectHoldoff: Duration
    private nonisolated let executor: ThreadExecutor
    private var context: ModbusContext?
    /// Monotonic nanoseconds: end of the previous transaction, last successful connect.
    private var lastTransactionEnd: Int64?
    private var connectedAt: Int64?
    private var lastConnectFailure: (at: Int64, error: ModbusError)?
    /// nil until the first connect attempt; then whether the link is up.
    private var linkUp: Bool?
    private var linkEvents: [LinkEvent] = []
    /// Finds an RTU port's current device node at each (re)open (an adapter named by its USB
    /// identity gets a new node when it is plugged in again).
    private let resolvePort: (@Sendable () -> Result<String, ModbusError>)?

    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    public init(
        name: String, transport: ModbusTransport, reconnectHoldoff: Duration = .milliseconds(500),
        resolvePort: (@Sendable () -> Result<String, ModbusError>)? = nil
    ) {
        self.name = name
        self.transport = transport
        self.reconnectHoldoff = reconnectHoldoff
        self.resolvePort = resolvePort
        self.executor = ThreadExecutor(name: "modbus \(name)")
    }

    deinit {
        executor.shutdown()
    }

    /// Reads `count` registers, connecting first if needed (see `perform`).
    public func read(
        unit: Int, table: ModbusTable, address: Int, count: Int, options: TransactionOptions
    ) throws(ModbusError) -> [UInt16] {
        let transaction = try ModbusTransaction.readRegisters(unit: unit, table: table, address: address, count: count)
        let data = try perform(transaction, options: options)
        var words: [UInt16] = []
        words.reserveCapacity(count)
        var index = data.startIndex
        while index < data.endIndex {
            words.append(UInt16(data[index]) << 8 | UInt16(data[index + 1]))
            index += 2
        }
        return words
    }

    /// Reads `count` coils from `address` (function 1), connecting first if needed.
    public func readCoils(unit: Int, address: Int, count: Int, options: TransactionOptions) throws(ModbusError) -> [Bool] {
        let transaction = try ModbusTransaction.readCoils(unit: unit, address: address, count: count)
        let data = Array(try perform(transaction, options: options))
        return (0..<count).map { data[$0 / 8] & (1 << UInt8($0 % 8)) != 0 }
    }

    /// Sets coil `address` of `unit` on or off (function 5), connecting first if needed; returns
    /// once the device has echoed the write (an exception reply throws it).
    public func writeCoil(unit: Int, address: Int, on: Bool, options: TransactionOptions) throws(ModbusError) {
        _ = try perform(try ModbusTransaction.writeCoil(unit: unit, address: address, on: on), options: options)
    }

    /// Writes holding register `address` of `unit` (function 6), as `writeCoil`.
    public func writeRegister(unit: Int, address: Int, value: UInt16, options: TransactionOptions) throws(ModbusError) {
        _ = try perform(try ModbusTransaction.writeRegister(unit: unit, address: address, value: value), options: options)
    }

    /// Runs one transaction and returns its reply's data, connecting first if needed. A transport
    /// failure closes the connection (the next call reconnects); stale bytes are flushed before
    /// each request and after a timeout or garbled reply.
    private func perform(_ transaction: ModbusTransaction, options: TransactionOptions) throws(ModbusError) -> ArraySlice<UInt8> {
        // Every blocking call below must run here, never on Swift's cooperative pool (checked in
        // debug builds, which the tests run).
        assert(executor.isCurrent, "ModbusBus.perform off its bus thread")
        let context = try connectedContext(options: options)
        pace(options)
        // A reply that came after its request timed out is still in the socket or tty: drop it, or
        // it would pass for this request's answer (costs one non-blocking poll / one tcflush).
        context.flush()
        defer { lastTransactionEnd = Monotonic.now() }
        do {
            let data = try context.transact(transaction, timeout: options.timeout, byteTimeout: byteTimeout(for: options.timeout))
            markUp()
            return data
        } catch {
            if case .exception = error {
                markUp()  // an exception is an answer: the line works
            } else if error.isTransport {
                context.close()
                // The adapter may come back under another node: look it up again on reopen.
                if resolvePort != nil { self.context = nil }
            } else if error.needsFlush {
                context.flush()
            }
            throw error
        }
    }

    /// Whether the connection is open now (a request need not connect first).
    public var isConnected: Bool { context?.isConnected == true }

    /// Closes the connection; the next read opens it again.
    public func disconnect() {
        context?.close()
    }

    /// How many times the adapter was announced plugged in again (pollers compare it to stop
    /// backing off the bus's devices); read without a hop to the bus thread.
    public nonisolated var adapterReturns: Int { returns.load(ordering: .relaxed) }
    private nonisolated let returns = Atomic<Int>(0)

    /// The adapter was plugged in again: try to open it on the next read, without waiting out
    /// the reconnect holdoff.
    public func adapterReturned() {
        returns.add(1, ordering: .relaxed)
        lastConnectFailure = nil
        if context?.isConnected != true { context = nil }
    }

    /// The link changes since the last call, oldest first.
    public func takeLinkEvents() -> [LinkEvent] {
        defer { linkEvents.removeAll() }
        return linkEvents
    }

    /// How long a reply may pause between chunks: long enough for a USB adapter's
    /// latency timer (16 ms on FTDI) and a few characters, short enough that a reply cut short
    /// fails fast; never longer than the device's timeout.
    public nonisolated func byteTimeout(for timeout: Duration) -> Duration {
        var byte = Duration.milliseconds(50)
        if case let .rtu(settings) = transport { byte = max(byte, settings.characterTime * 4) }
        return min(timeout, byte)
    }

    private func connectedContext(options: TransactionOptions) throws(ModbusError) -> ModbusContext {
        let context: ModbusContext
        if let existing = self.context {
            context = existing
        } else {
            switch transport {
            case let .tcp(host, port): context = try ModbusContext.tcp(host: host, port: port)
            case var .rtu(settings):
                if let resolvePort {
                    switch resolvePort() {
                    case let .success(path): settings.port = path
                    case let .failure(error):
                        if case let .transport(_, text) = error { markDown(text) } else { markDown(error.description) }
                        throw error
                    }
                }
                context = try ModbusContext.rtu(settings)
            }
            self.context = context
        }
        context.setConnectTimeout(options.timeout)
        if !context.isConnected {
            let now = Monotonic.now()
            if let failure = lastConnectFailure, now - failure.at < reconnectHoldoff.inNanoseconds {
                throw failure.error
            }
            do {
                try context.connect()
            } catch {
                lastConnectFailure = (Monotonic.now(), error)
                if case let .transport(_, text) = error { markDown(text) } else { markDown(error.description) }
                throw error
            }
            lastConnectFailure = nil
            connectedAt = Monotonic.now()
        }
        return context
    }

    /// Sleeps (on the bus's own thread) until this device may be sent a request.
    private func pace(_ options: TransactionOptions) {
        var earliest = Int64.min
        if let end = lastTransactionEnd {
            earliest = end + max(transport.interFrameSilence, options.minimumGap).inNanoseconds
        }
        if let connectedAt, options.pauseAfterConnect > .zero {
            earliest = max(earliest, connectedAt + options.pauseAfterConnect.inNanoseconds)
        }
        if earliest > Monotonic.now() { Monotonic.sleep(until: earliest) }
    }

    private func markDown(_ reason: String) {
        guard linkUp != false else { return }
        linkUp = false
        linkEvents.append(LinkEvent(up: false, time: Date(), reason: reason))
    }

    private func markUp() {
        guard linkUp != true else { return }
        // The first success after start is no news; after a failure it is.
        if linkUp == false { linkEvents.append(LinkEvent(up: true, time: Date())) }
        linkUp = true
    }
}
