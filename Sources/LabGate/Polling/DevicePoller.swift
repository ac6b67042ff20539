import Foundation
import Modbus

/// Polls one device once: every planned request, with the device's retries, decoded per field.
struct DevicePoller: Sendable {
    let device: Device
    let requests: [PlannedRequest]

    init(device: Device, profile: Profile) {
        self.device = device
        self.requests = RequestPlanner.plan(profile)
    }

    /// The longest a poll of this device can take when nothing answers.
    var worstCase: Duration {
        device.timeout * (requests.count * (device.retries + 1))
    }

    func poll(on bus: ModbusBus, counters: PollCounters) async -> PollResult {
        // Whole milliseconds, as stored: the time alerts and printouts show is the stored one.
        let time = Date(millisecondsSince1970: Date().millisecondsSince1970)
        let instant = ContinuousClock.now
        var readings: [Reading] = []
        var failures: [String] = []
        var answered = false
        var transportDown = false
        for request in requests {
            let outcome: Result<[UInt16], ModbusError>
            if transportDown {
                // The connection already failed in this poll: don't pay a connect timeout per request.
                outcome = .failure(.transport(errno: 0, "not connected"))
            } else {
                outcome = await read(request, on: bus)
            }
            counters.record(device: device.id, outcome.map { _ in () })
            switch outcome {
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
                transportDown = transportDown || error.isTransport
                if case .exception = error { answered = true }
                failures.append("\(request.table.rawValue) \(request.address)+\(request.count): \(error)")
                for field in request.fields {
                    readings.append(Reading(
                        device: device.id, channel: field.channel, time: time,
                        value: nil, quality: error.quality, detail: error.description))
                }
            }
        }
        // The device counts as unreachable only when no request got any answer at all.
        let failure = answered || failures.isEmpty ? nil : failures.joined(separator: "; ")
        return PollResult(device: device.id, time: time, instant: instant, readings: readings, failure: failure)
    }

    private func read(_ request: PlannedRequest, on bus: ModbusBus) async -> Result<[UInt16], ModbusError> {
        var attempt = 0
        while true {
            do {
                let words = try await bus.read(
                    unit: device.unit, table: request.table.modbus, address: request.address,
                    count: request.count, options: device.transactionOptions)
                return .success(words)
            } catch {
                // An exception is the device's considered answer: asking again changes nothing.
                if case .exception = error { return .failure(error) }
                if attempt >= device.retries { return .failure(error) }
                attempt += 1
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
}
