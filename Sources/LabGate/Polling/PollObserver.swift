import Modbus

/// Told of every transaction and poll as `PollCounters` records it, so that a consumer (the
/// Prometheus metrics) sees each event rather than a summary read back later, which would lose
/// the shape of the transaction-time distribution.
public protocol PollObserver: Sendable {
    /// `replied` is false for timeouts and connection failures, whose duration is not a reply time.
    func transaction(device: String, outcome: Result<Void, ModbusError>, duration: Duration, replied: Bool)
    func poll(_ result: PollResult)
}
