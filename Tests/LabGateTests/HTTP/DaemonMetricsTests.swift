import Foundation
import Modbus
import Testing
@testable import LabGate
@testable import LabGateDaemon

/// The value of the sample `name{labels}` in a text exposition, nil when there is none.
func sample(_ text: String, _ series: String) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
        return Double(line.dropFirst(series.count + 1))
    }
    return nil
}

@Suite("Prometheus metrics")
struct DaemonMetricsTests {
    private func render(_ metrics: DaemonMetrics, deviations: [DeviationRecord] = [], backlog: StoreBacklog = .init(held: 0, oldest: nil), now: Date = Date()) -> String {
        metrics.render(now: now, deviations: deviations, backlog: backlog, statuses: [:])
    }

    @Test("every series of a configured device exists at 0 before anything happens")
    func zeroSeries() {
        let metrics = DaemonMetrics(startTime: Date(timeIntervalSince1970: 1_800_000_000))
        metrics.configure(incubatorConfig())
        let text = render(metrics)
        for outcome in ["answered", "failed", "skipped"] {
            #expect(sample(text, #"labgate_polls_total{device="INC-01",bus="sim",outcome="\#(outcome)"}"#) == 0)
        }
        for outcome in ["ok", "timeout", "bad_crc", "bad_response", "disconnected"] {
            #expect(sample(text, #"labgate_modbus_transactions_total{device="INC-01",bus="sim",outcome="\#(outcome)"}"#) == 0)
        }
        #expect(sample(text, #"labgate_deviations{device="INC-01",state="open"}"#) == 0)
        #expect(sample(text, #"labgate_modbus_transaction_duration_seconds_count{device="INC-01",bus="sim"}"#) == 0)
        #expect(sample(text, "labgate_start_time_seconds") == 1_800_000_000)
        #expect(sample(text, "labgate_store_readings_written_total") == 0)
        #expect(text.contains("# TYPE labgate_polls_total counter"))
        #expect(text.contains("# TYPE labgate_modbus_transaction_duration_seconds histogram"))
        #expect(text.contains("# HELP labgate_store_write_lag_seconds "))
    }

    @Test("counters by outcome and error kind, exceptions with their code")
    func counters() {
        let metrics = DaemonMetrics()
        metrics.configure(incubatorConfig())
        let counters = PollCounters(observer: metrics)
        counters.transaction(device: "INC-01", .success(()), duration: .milliseconds(3))
        counters.transaction(device: "INC-01", .success(()), duration: .milliseconds(4))
        counters.transaction(device: "INC-01", .failure(.timeout), duration: .seconds(1))
        counters.transaction(device: "INC-01", .failure(.exception(ModbusException(code: 6))), duration: .milliseconds(2))
        counters.transaction(device: "INC-01", .failure(.exception(ModbusException(code: 6))), duration: .milliseconds(2))
        counters.transaction(device: "INC-01", .failure(.exception(ModbusException(code: 2))), duration: .milliseconds(2))
        counters.transaction(device: "INC-01", .failure(.badCRC), duration: .milliseconds(20))
        counters.transaction(device: "INC-01", .failure(.badResponse("short")), duration: .milliseconds(20))
        counters.transaction(device: "INC-01", .failure(.transport(errno: 111, "refused")), duration: .milliseconds(1))
        let now = Date()
        counters.poll(PollResult(device: "INC-01", time: now, instant: .now, readings: [], failure: nil))
        counters.poll(PollResult(device: "INC-01", time: now, instant: .now, readings: [], failure: "timeout"))
        counters.poll(PollResult(device: "INC-01", time: now, instant: .now, readings: [], failure: "backoff", skipped: true))
        counters.poll(PollResult(device: "INC-01", time: now, instant: .now, readings: [], failure: "backoff", skipped: true))
        let text = render(metrics)
        let t = #"labgate_modbus_transactions_total{device="INC-01",bus="sim","#
        #expect(sample(text, t + #"outcome="ok"}"#) == 2)
        #expect(sample(text, t + #"outcome="timeout"}"#) == 1)
        #expect(sample(text, t + #"outcome="exception",code="6"}"#) == 2)
        #expect(sample(text, t + #"outcome="exception",code="2"}"#) == 1)
        #expect(sample(text, t + #"outcome="bad_crc"}"#) == 1)
        #expect(sample(text, t + #"outcome="bad_response"}"#) == 1)
        #expect(sample(text, t + #"outcome="disconnected"}"#) == 1)
        let p = #"labgate_polls_total{device="INC-01",bus="sim","#
        #expect(sample(text, p + #"outcome="answered"}"#) == 1)
        #expect(sample(text, p + #"outcome="failed"}"#) == 1)
        #expect(sample(text, p + #"outcome="skipped"}"#) == 2)
    }

    @Test("the histogram has Modbus buckets from 1 ms to 5 s and times only replies")
    func histogram() {
        let metrics = DaemonMetrics()
        metrics.configure(incubatorConfig())
        let counters = PollCounters(observer: metrics)
        counters.transaction(device: "INC-01", .success(()), duration: .microseconds(800))
        counters.transaction(device: "INC-01", .success(()), duration: .milliseconds(30))
        counters.transaction(device: "INC-01", .failure(.exception(ModbusException(code: 6))), duration: .milliseconds(30))
        counters.transaction(device: "INC-01", .success(()), duration: .seconds(7))
        counters.transaction(device: "INC-01", .failure(.timeout), duration: .seconds(1))
        counters.transaction(device: "INC-01", .failure(.transport(errno: 104, "reset")), duration: .milliseconds(3))
        let text = render(metrics)
        let h = #"labgate_modbus_transaction_duration_seconds_bucket{device="INC-01",bus="sim",le=""#
        #expect(sample(text, h + #"0.001"}"#) == 1)
        #expect(sample(text, h + #"0.025"}"#) == 1)
        #expect(sample(text, h + #"0.05"}"#) == 3)
        #expect(sample(text, h + #"5.0"}"#) == 3)
        #expect(sample(text, h + #"+Inf"}"#) == 4)
        #expect(sample(text, #"labgate_modbus_transaction_duration_seconds_count{device="INC-01",bus="sim"}"#) == 4)
        let sum = sample(text, #"labgate_modbus_transaction_duration_seconds_sum{device="INC-01",bus="sim"}"#) ?? 0
        #expect(abs(sum - 7.0608) < 1e-9)
        let buckets = text.split(separator: "\n").filter { $0.hasPrefix(h) }.count
        #expect(buckets == DaemonMetrics.latencyBuckets.count + 1)
    }

    @Test("deviations by device and state go back to 0 once closed; the store's lag, held and written readings")
    func gauges() {
        let metrics = DaemonMetrics()
        metrics.configure(incubatorConfig())
        let open = deviation("DEV-2026-0001", device: "INC-01")
        var recovered = deviation("DEV-2026-0002", device: "INC-01")
        recovered.end = recovered.start + 60_000
        let elsewhere = deviation("DEV-2026-0003", device: "OLD-09")
        var text = render(metrics, deviations: [open, recovered, elsewhere])
        #expect(sample(text, #"labgate_deviations{device="INC-01",state="open"}"#) == 1)
        #expect(sample(text, #"labgate_deviations{device="INC-01",state="recovered"}"#) == 1)
        #expect(sample(text, #"labgate_deviations{device="OLD-09",state="open"}"#) == 1)
        text = render(metrics, deviations: [recovered])
        #expect(sample(text, #"labgate_deviations{device="INC-01",state="open"}"#) == 0)
        #expect(sample(text, #"labgate_deviations{device="OLD-09",state="open"}"#) == 0)

        let now = Date()
        metrics.committed(readings: 40)
        metrics.committed(readings: 2)
        metrics.dropped(readings: 5)
        text = render(metrics, backlog: StoreBacklog(held: 1200, oldest: now.addingTimeInterval(-90)), now: now)
        #expect(sample(text, "labgate_store_write_lag_seconds") == 90)
        #expect(sample(text, "labgate_store_readings_held") == 1200)
        #expect(sample(text, "labgate_store_readings_written_total") == 42)
        #expect(sample(text, "labgate_store_readings_dropped_total") == 5)
        text = render(metrics, now: now)
        #expect(sample(text, "labgate_store_write_lag_seconds") == 0)
    }

    @Test("device up from the latest poll; label values are escaped")
    func upAndEscaping() {
        let metrics = DaemonMetrics()
        var config = incubatorConfig()
        config.devices[0].id = #"INC "1"\n"#
        metrics.configure(config)
        var answering = DeviceStatus(device: config.devices[0].id, updated: Date())
        answering.lastPoll = Date()
        let text = metrics.render(now: Date(), deviations: [], backlog: .init(held: 0, oldest: nil), statuses: [config.devices[0].id: answering])
        #expect(sample(text, #"labgate_device_up{device="INC \"1\"\\n",bus="sim"}"#) == 1)
    }
}

func deviation(_ id: String, device: String, channel: String = "co2", lots: [String] = ["LOT-1"]) -> DeviationRecord {
    DeviationRecord(
        id: id, kind: .excursion, device: device, channel: channel, unit: "%",
        limit: .init(name: "low", value: 4.5, source: "spec msc-culture"), start: 1_800_000_006_000,
        opened: 1_800_000_016_000, valueAtOpening: 4.3, critical: false, end: nil, worst: 4.3, size: nil, lots: lots)
}
