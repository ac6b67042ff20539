import Foundation
import GRDB
import Modbus
import Testing
@testable import LabGate
@testable import LabGateDaemon
@testable import LabGateClient

@Suite("Device diagnostics: counters, snapshot in the store, status report")
struct DeviceStatusTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func reading(_ channel: String, _ value: Double?, _ quality: Quality = .good, at seconds: Double, detail: String? = nil) -> Reading {
        Reading(device: "INC-01", channel: channel, time: t0.addingTimeInterval(seconds), value: value, quality: quality, detail: detail)
    }

    /// INC-01: two answered polls, then one that timed out, then a skipped slot; busy replies and
    /// a CRC error on the way.
    func counters() -> PollCounters {
        let counters = PollCounters()
        for ms in [2, 3, 4, 5, 40] {
            counters.transaction(device: "INC-01", .success(()), duration: .milliseconds(ms), at: t0)
        }
        counters.transaction(device: "INC-01", .failure(.exception(.busy)), duration: .milliseconds(3), at: t0)
        counters.transaction(device: "INC-01", .failure(.badCRC), duration: .milliseconds(6), at: t0)
        counters.transaction(device: "INC-01", .failure(.timeout), duration: .seconds(1), at: t0.addingTimeInterval(20))
        counters.backoff(device: "INC-01", failures: 1, nextTry: t0.addingTimeInterval(40))
        for poll in polls() { counters.poll(poll) }
        return counters
    }

    /// INC-01's polls: two answered (a sensor fault in the second), one timed out, one skipped slot.
    func polls() -> [PollResult] {
        let instant = ContinuousClock.now
        return [
            PollResult(device: "INC-01", time: t0, instant: instant, readings: [
                reading("temperature", 37.01, at: 0), reading("co2", 5.02, at: 0),
            ], failure: nil),
            PollResult(device: "INC-01", time: t0.addingTimeInterval(10), instant: instant, readings: [
                reading("temperature", 37.05, at: 10), reading("co2", nil, .sensorFault, at: 10, detail: "sentinel -32768 at input 2"),
            ], failure: nil),
            PollResult(device: "INC-01", time: t0.addingTimeInterval(20), instant: instant, readings: [
                reading("temperature", nil, .timeout, at: 20, detail: "timeout"), reading("co2", nil, .timeout, at: 20, detail: "timeout"),
            ], failure: "input 0+3: timeout"),
            PollResult(device: "INC-01", time: t0.addingTimeInterval(30), instant: instant, readings: [
                reading("temperature", nil, .skipped, at: 30, detail: "backoff"), reading("co2", nil, .skipped, at: 30, detail: "backoff"),
            ], failure: "backoff", skipped: true),
        ]
    }

    /// INC-01's row as `StatusService` writes it: the counters, with the readings the pipeline accepted.
    func row(at time: Date) -> DeviceStatus? {
        let readings = LatestReadings()
        for poll in polls() { readings.record(poll.readings) }
        var status = counters().status(of: "INC-01", at: time)
        status?.channels = readings.snapshot()["INC-01"] ?? []
        return status
    }

    @Test("counters: transactions by outcome, reply times of replies only; the accepted readings: latest and latest good value per channel")
    func snapshot() throws {
        let status = try #require(row(at: t0.addingTimeInterval(31)))
        #expect(status.transactions.ok == 5 && status.transactions.badCRC == 1 && status.transactions.timeout == 1)
        #expect(status.transactions.exceptions == [6: 1])
        #expect(status.transactions.total == 8)
        #expect(status.pollsAnswered == 2 && status.pollsFailed == 1 && status.pollsSkipped == 1)
        #expect(status.lastPoll == t0.addingTimeInterval(30))
        #expect(status.lastAnswer == t0.addingTimeInterval(10))
        #expect(status.consecutiveFailures == 1 && status.nextTry == t0.addingTimeInterval(40))
        #expect(status.lastError == "timeout" && status.lastErrorTime == t0.addingTimeInterval(20))
        let latency = try #require(status.latency)
        #expect(latency.count == 7, "the timeout is not a reply time")
        #expect(abs(latency.p50 - 0.004) < 0.0001)
        #expect(abs(latency.max - 0.040) < 0.0005)
        #expect(latency.p99 <= latency.max && latency.p99 >= 0.006 * 0.99)
        #expect(status.channels.map(\.channel) == ["temperature", "co2"])
        let co2 = status.channels[1]
        #expect(co2.quality == .skipped && co2.value == nil)
        #expect(co2.lastGoodValue == 5.02 && co2.lastGoodTime == t0)
        #expect(status.channels[0].lastGoodValue == 37.05)
        #expect(status.state(unreachableAfter: 1) == "unreachable" && status.state(unreachableAfter: 2) == "failing")
    }

    @Test("the snapshot survives the store: every field comes back")
    func storeRoundTrip() async throws {
        let folder = try TemporaryFolder()
        let store = try ReadingStore(path: folder.path + "/store.sqlite")
        let now = t0.addingTimeInterval(31)
        let status = try #require(row(at: now))
        let empty = DeviceStatus(device: "FRZ-01", updated: now)
        try await DeviceStatusStore.save([status, empty], to: store)
        try await DeviceStatusStore.save([status, empty], to: store)  // rewritten, not added
        let back = try #require(try DeviceStatusStore.fetchAll(from: try ReadingStore(readingExisting: store.path)))
        #expect(back.count == 2)
        #expect(back["INC-01"] == status)
        #expect(back["FRZ-01"] == empty)
        let json = try await store.pool.read { db in try String.fetchOne(db, sql: "SELECT exceptions FROM device_status WHERE device = 'INC-01'") }
        #expect(json == #"{"6":1}"#)
    }

    @Test("a store made before the skipped quality gets it on opening; skipped readings are stored without value")
    func skippedQualityMigration() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/old.sqlite"
        do {
            let pool = try DatabasePool(path: path)
            try ReadingStore.migrator.migrate(pool, upTo: "v1 readings")
            try await pool.write { db in try db.execute(sql: "DELETE FROM quality WHERE name = 'skipped'") }
        }
        let store = try ReadingStore(path: path)
        let codes = try store.pool.read { db in try Row.fetchAll(db, sql: "SELECT code, name FROM quality ORDER BY code") }
        #expect(codes.map { "\($0[0] as Int) \($0[1] as String)" } == Quality.allCases.enumerated().map { "\($0) \($1.rawValue)" })
        #expect(Quality.allCases.last == .skipped, "new qualities go at the end")
        let writer = ReadingWriter(store: store)
        try await writer.append([reading("co2", nil, .skipped, at: 0, detail: "backoff after 2 failed polls; next try …")])
        try await writer.flush()
        let back = try ReadingQuery(device: "INC-01").fetch(from: store)
        #expect(back.map(\.quality) == [.skipped] && back[0].value == nil)
    }

    @Test("status report: state first, values with unit and age, counters, reply times, last error")
    func report() throws {
        let config = incubatorConfig()
        let now = t0.addingTimeInterval(31)
        var status = try #require(row(at: now))
        status.consecutiveFailures = 2
        let text = DeviceStatusReport.render(config: config, statuses: ["INC-01": status], now: now)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == "site test: status of \(UTCTime.format(now)) (just now)")
        #expect(lines[2] == "INC-01  incubator  bus sim, unit 1  —  UNREACHABLE: the last 2 polls got no answer; "
            + "backing off, next try in 9 s (\(UTCTime.format(t0.addingTimeInterval(40))))")
        #expect(lines[3] == "  temperature  no value: skipped (backoff), 1 s ago; last good 37.05 °C 21 s ago")
        #expect(lines[4] == "  co2          no value: skipped (backoff), 1 s ago; last good 5.02 % 31 s ago")
        #expect(lines[5] == "  polls        2 answered, 1 failed, 1 skipped; last 1 s ago")
        #expect(lines[6] == "  transactions 5 ok, 1 timeouts, 1 CRC errors, 0 bad replies, 0 connection errors, "
            + "exception 6 (server device busy) × 1")
        #expect(lines[7].hasPrefix("  reply time   p50 4.0 ms, p99 "))
        #expect(lines[7].hasSuffix(" (7 replies)"))
        #expect(lines[8] == "  last error   timeout, 11 s ago (\(UTCTime.format(t0.addingTimeInterval(20))))")

        // An old snapshot says the daemon is not running.
        let stale = DeviceStatusReport.render(config: config, statuses: ["INC-01": status], now: now.addingTimeInterval(3600))
        #expect(stale.contains("NOTE: this snapshot is 60 min old: the daemon is not running"))
        // A device without a status, and no status at all.
        let none = DeviceStatusReport.render(config: config, statuses: [:], now: now)
        #expect(none.contains("no device status in"))
        #expect(none.contains("INC-01  incubator  bus sim, unit 1  —  NOT POLLED YET"))
    }

    @Test("a good value shows with its unit and age")
    func goodValues() throws {
        // Counted by the pollers, accepted by the pipeline, written together as StatusService does.
        let counters = PollCounters()
        let readings = LatestReadings()
        func polled(_ poll: PollResult) {
            counters.poll(poll)
            readings.record(poll.readings)
        }
        func row() -> DeviceStatus? {
            var status = counters.status(of: "INC-01", at: t0.addingTimeInterval(3))
            status?.channels = readings.snapshot()["INC-01"] ?? []
            return status
        }
        polled(PollResult(device: "INC-01", time: t0, instant: .now, readings: [
            reading("temperature", 37.01, at: 0), reading("co2", 5.02, at: 0),
        ], failure: nil))
        let status = try #require(row())
        let text = DeviceStatusReport.render(config: incubatorConfig(), statuses: ["INC-01": status], now: t0.addingTimeInterval(3))
        #expect(text.contains("INC-01  incubator  bus sim, unit 1  —  OK\n  temperature  37.01 °C  3 s ago\n  co2          5.02 %  3 s ago\n"), "\(text)")
        polled(PollResult(device: "INC-01", time: t0.addingTimeInterval(1), instant: .now, readings: [
            reading("temperature", 37.02, at: 1), reading("co2", nil, .sensorFault, at: 1, detail: "sentinel -32768 at input 2"),
        ], failure: nil))
        let faulty = try #require(row())
        let faultyText = DeviceStatusReport.render(config: incubatorConfig(), statuses: ["INC-01": faulty], now: t0.addingTimeInterval(3))
        #expect(faultyText.contains("—  OK: 1 of 2 channels without a value\n"), "\(faultyText)")
        #expect(faultyText.contains("  co2          no value: sensor_fault (sentinel -32768 at input 2), 2 s ago; last good 5.02 % 3 s ago\n"), "\(faultyText)")
        #expect(ElapsedText.milliseconds(0.00082) == "0.8 ms")
        #expect(ElapsedText.milliseconds(0.0123) == "12 ms")
        #expect(ElapsedText.milliseconds(1.5) == "1.50 s")
        #expect(ElapsedText.age(7200) == "2 h ago")
    }
}
