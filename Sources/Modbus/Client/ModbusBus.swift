/// Where a bus is reached.
public enum ModbusTransport: Sendable, Hashable, CustomStringConvertible {
    case tcp(host: String, port: Int)

    public var description: String {
        switch self {
        case let .tcp(host, port): "tcp \(host):\(port)"
        }
    }
}

public enum ModbusTable: Sendable, Hashable {
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

/// The single owner of one bus's libmodbus context: every call runs on the bus's own thread, one
/// at a time, so a slow device delays only its own bus.
public actor ModbusBus {
    public nonisolated let name: String
    public nonisolated let transport: ModbusTransport
    private nonisolated let executor: ThreadExecutor
    private var context: ModbusContext?

    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    public init(name: String, transport: ModbusTransport) {
        self.name = name
        self.transport = transport
        self.executor = ThreadExecutor(name: "modbus \(name)")
    }

    deinit {
        executor.shutdown()
    }

    /// Reads `count` registers, connecting first if needed. A transport failure closes the
    /// connection (the next call reconnects); stale bytes are flushed before each request and after
    /// a timeout or garbled reply.
    public func read(
        unit: Int, table: ModbusTable, address: Int, count: Int, options: TransactionOptions
    ) throws(ModbusError) -> [UInt16] {
        let context = try connectedContext(timeout: options.timeout)
        // A reply that came after its request timed out is still in the socket: drop it, or it
        // would pass for this request's answer (costs one non-blocking poll of the socket).
        context.flush()
        do {
            switch table {
            case .holding: return try context.readHoldingRegisters(unit: unit, address: address, count: count)
            case .input: return try context.readInputRegisters(unit: unit, address: address, count: count)
            }
        } catch {
            if error.isTransport {
                context.close()
            } else if error.needsFlush {
                context.flush()
            }
            throw error
        }
    }

    /// Closes the connection; the next read opens it again.
    public func disconnect() {
        context?.close()
    }

    private func connectedContext(timeout: Duration) throws(ModbusError) -> ModbusContext {
        let context: ModbusContext
        if let existing = self.context {
            context = existing
        } else {
            switch transport {
            case let .tcp(host, port): context = try ModbusContext.tcp(host: host, port: port)
            }
            self.context = context
        }
        context.setResponseTimeout(timeout)
        context.setByteTimeout(timeout)
        if !context.isConnected { try context.connect() }
        return context
    }
}
