import Foundation
import Logging
import Modbus

/// Reads registers from a device: the bus owner in the daemon, a scripted stand-in in tests.
protocol RegisterReader: Sendable {
    func read(
        unit: Int, table: ModbusTable, address: Int, count: Int, options: TransactionOptions
    ) async throws(ModbusError) -> [UInt16]
}

extension ModbusBus: RegisterReader {}

/// Polls one device once: every planned request, with the device's retries, decoded per field.
///
/// - A reply with exception 6 (server device busy) is asked again up to `busyRetries` times, each
///   after `busyWait`; any other exception is the device's considered answer and is not retried.
/// - A timeout, a garbled reply or a connection failure is retried up to `retries` times, except
///   in a probe (a poll of a device that is backing off), which makes one attempt only.
/// - Once the device failed to answer a request before answering any in this poll, or the
///   connection failed, the remaining requests are not sent: a dead device costs its bus one
///   request's worth of timeouts per poll, not one per request.
/// - A request for several fields refused with exception 2 or 3 is split (first without holes,
///   then one field per request), read again in the same poll, and stays split from then on.
struct DevicePoller: Sendable {
    let device: Device
    /// The profile's fields, in profile order (the order of every poll's readings).
    let fields: [Field]
    private(set) var requests: [PlannedRequest]
    private let logger: Logger

    init(device: Device, profile: Profile, logger: Logger = Logger(label: "labgate")) {
        self.device = device
        self.fields = profile.fields
        self.requests = RequestPlanner.plan(profile, options: device.planOptions)
        self.logger = logger
    }

    /// The longest a poll of this device can take when nothing answers well: every field read
    /// on its own (after a split), each timing out on every attempt or busy on every retry.
    var worstCase: Duration {
        let attempt = device.timeout * (device.retries + 1) + (device.busyWait + device.timeout) * device.busyRetries
        return attempt * max(fields.count, requests.count) + device.pauseAfterConnect
            + device.minGap * max(fields.count, requests.count)
    }

    /// Runs in the caller's isolation (the bus owner's, under `BusPoller`), so that reading from
    /// the bus costs no hop between threads.
    mutating func poll(
        on reader: some RegisterReader, counters: PollCounters, probe: Bool = false,
        isolation: isolated (any Actor)? = #isolation
    ) async -> PollResult {
        // Whole milliseconds, as stored: the time alerts and printouts show is the stored one.
        let time = Date(millisecondsSince1970: Date().millisecondsSince1970)
        let instant = ContinuousClock.now
        var readings: [Reading] = []
        var failures: [String] = []
        var answered = false
        // Set when the rest of this poll is not worth sending: the reason.
        var giveUp: ModbusError?
        var pending = requests
        var next = 0
        while next < pending.count {
            let request = pending[next]
            next += 1
            if let giveUp {
                let detail = "not read: \(giveUp) on an earlier request of this poll"
                readings += request.fields.map { reading($0, time: time, quality: giveUp.quality, detail: detail) }
                continue
            }
            switch await read(request, on: reader, counters: counters, probe: probe, isolation: isolation) {
            case let .success(words):
                answered = true
                for field in request.fields {
                    let start = field.address - request.address
                    let decoded = FieldDecoder.decode(field, words: words[start..<(start + field.type.width)])
                    readings.append(Reading(
                        device: device.id, channel: field.channel, time: time,
                        value: decoded.value, quality: decoded.quality, detail: decoded.detail))
                }
            case let .failure(error):
                if case let .exception(exception) = error {
                    answered = true
                    if [ModbusException.illegalDataAddress, .illegalDataValue].contains(exception),
                       let parts = RequestPlanner.split(request, options: device.planOptions)
                    {
                        replace(request, with: parts, because: error)
                        pending.insert(contentsOf: parts, at: next)
                        continue
                    }
                }
                failures.append("\(request): \(error)")
                if error.isTransport || (!answered && error.isSilence) { giveUp = error }
                readings += request.fields.map { reading($0, time: time, quality: error.quality, detail: error.description) }
            }
        }
        // The device counts as not answering only when no request got any answer at all.
        let failure = answered || failures.isEmpty ? nil : failures.joined(separator: "; ")
        return PollResult(
            device: device.id, time: time, instant: instant, readings: inProfileOrder(readings), failure: failure)
    }

    /// The record of a slot that was not polled: every channel `skipped`, with the reason.
    func skipped(reason: String) -> PollResult {
        let time = Date(millisecondsSince1970: Date().millisecondsSince1970)
        return PollResult(
            device: device.id, time: time, instant: .now,
            readings: fields.map { reading($0, time: time, quality: .skipped, detail: reason) }, failure: reason,
            skipped: true)
    }

    private func reading(_ field: Field, time: Date, quality: Quality, detail: String) -> Reading {
        Reading(device: device.id, channel: field.channel, time: time, value: nil, quality: quality, detail: detail)
    }

    private func inProfileOrder(_ readings: [Reading]) -> [Reading] {
        // The usual case (every field answered in its own request order): nothing to sort.
        if readings.count == fields.count, zip(readings, fields).allSatisfy({ $0.channel == $1.channel }) {
            return readings
        }
        let order = Dictionary(fields.enumerated().map { ($1.channel, $0) }) { first, _ in first }
        return readings.enumerated()
            .sorted { (order[$0.element.channel] ?? Int.max, $0.offset) < (order[$1.element.channel] ?? Int.max, $1.offset) }
            .map(\.element)
    }

    private mutating func replace(_ request: PlannedRequest, with parts: [PlannedRequest], because error: ModbusError) {
        guard let index = requests.firstIndex(of: request) else { return }
        requests.replaceSubrange(index...index, with: parts)
        let channels = request.fields.map(\.channel).joined(separator: ", ")
        let now = parts.map(\.description).joined(separator: ", ")
        logger.warning(
            "\(device.id): \(request) (\(channels)) answered \(error); reading it as \(now) from now on")
    }

    /// One request with the device's retries; every attempt is counted as a transaction.
    private func read(
        _ request: PlannedRequest, on reader: some RegisterReader, counters: PollCounters, probe: Bool,
        isolation: isolated (any Actor)?
    ) async -> Result<[UInt16], ModbusError> {
        var retriesLeft = probe ? 0 : device.retries
        var busyLeft = device.busyRetries
        let clock = ContinuousClock()
        while true {
            let start = clock.now
            do {
                let words = try await reader.read(
                    unit: device.unit, table: request.table, address: request.address,
                    count: request.count, options: device.transactionOptions)
                counters.transaction(device: device.id, .success(()), duration: start.duration(to: clock.now))
                return .success(words)
            } catch {
                counters.transaction(device: device.id, .failure(error), duration: start.duration(to: clock.now))
                switch error {
                case let .exception(exception) where exception == .busy && busyLeft > 0:
                    busyLeft -= 1
                    do {
                        try await Task.sleep(for: device.busyWait)
                    } catch {
                        return .failure(.exception(exception))
                    }
                case .exception:
                    return .failure(error)
                default:
                    guard retriesLeft > 0 else { return .failure(error) }
                    retriesLeft -= 1
                }
            }
        }
    }
}

extension ModbusError {
    var quality: Quality {
        switch self {
        case .timeout: .timeout
        case .exception: .exception
        case .badCRC, .badResponse: .badResponse
        case .transport, .setup: .disconnected
        }
    }

    /// No reply at all: the device may be gone.
    var isSilence: Bool {
        switch self {
        case .timeout, .transport, .setup: true
        default: false
        }
    }
}
