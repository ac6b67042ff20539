import Modbus
import Synchronization

/// Per-device transaction counters, shared between the bus pollers and whoever reports them.
public final class PollCounters: Sendable {
    public struct Device: Sendable, Hashable {
        public var ok = 0
        public var timeout = 0
        public var badResponse = 0
        public var disconnected = 0
        /// Exception responses by exception code.
        public var exceptions: [UInt8: Int] = [:]
        public var lastError: String?

        public var failed: Int { timeout + badResponse + disconnected + exceptions.values.reduce(0, +) }
    }

    private let state = Mutex<[String: Device]>([:])

    public init() {}

    func record(device: String, _ outcome: Result<Void, ModbusError>) {
        state.withLock { all in
            var counters = all[device, default: Device()]
            switch outcome {
            case .success: counters.ok += 1
            case let .failure(error):
                switch error {
                case .timeout: counters.timeout += 1
                case let .exception(exception): counters.exceptions[exception.code, default: 0] += 1
                case .badCRC, .badResponse: counters.badResponse += 1
                case .transport, .setup: counters.disconnected += 1
                }
                counters.lastError = error.description
            }
            all[device] = counters
        }
    }

    public subscript(device: String) -> Device {
        state.withLock { $0[device] ?? Device() }
    }

    public var all: [String: Device] { state.withLock { $0 } }
}
