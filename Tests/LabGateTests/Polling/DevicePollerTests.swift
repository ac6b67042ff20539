import Glibc
import Foundation
import Modbus
import Synchronization
import TestSupport
import Testing
@testable import LabGate
@testable import LabGateDaemon

/// A device answering as a script says: `respond(request, n)` with n = how many times the same
/// request was sent before. Every request is logged.
final class ScriptedReader: RegisterReader, Sendable {
    struct Request: Hashable, Sendable, CustomStringConvertible {
        var table: ModbusTable
        var address: Int
        var count: Int
        var description: String { "\(table == .holding ? "holding" : "input") \(address)+\(count)" }
    }

    typealias Script = @Sendable (Request, Int) -> Result<[UInt16], ModbusError>
    private let state: Mutex<[Request]>
    private let respond: Script

    init(_ respond: @escaping Script) {
        self.state = Mutex([])
        self.respond = respond
    }

    var log: [Request] { state.withLock { $0 } }

    func read(
        unit: Int, table: ModbusTable, address: Int, count: Int, options: TransactionOptions
    ) async throws(ModbusError) -> [UInt16] {
        let request = Request(table: table, address: address, count: count)
        let seen = state.withLock { log in
            defer { log.append(request) }
            return log.filter { $0 == request }.count
        }
        return try respond(request, seen).get()
    }

    /// Registers `count` words of a running counter, so that every field decodes to something.
    static func words(_ request: Request) -> [UInt16] {
        (0..<request.count).map { UInt16(request.address + $0) }
    }
}

@Suite("Device poller: retries, busy, dead devices, refused requests, counters")
struct DevicePollerTests {
    let profile = Profile(name: "p", fields: [
        Field(channel: "a", table: .input, address: 0, type: .uint16),
        Field(channel: "b", table: .input, address: 4, type: .uint16),
        Field(channel: "c", table: .holding, address: 10, type: .uint16),
    ])

    func device(retries: Int = 1, busyRetries: Int = 3, maxFill: Int = 8) -> Device {
        Device(
            id: "D", kind: .other, bus: "b", unit: 1, profile: "p", every: .seconds(1), retries: retries,
            busyRetries: busyRetries, busyWait: .milliseconds(1), maxFill: maxFill)
    }

    @Test("exception 6 (busy) is asked again after busy_wait until the device answers")
    func busyRetried() async {
        let reader = ScriptedReader { request, seen in
            seen < 2 ? .failure(.exception(.busy)) : .success(ScriptedReader.words(request))
        }
        var poller = DevicePoller(device: device(), profile: profile)
        let counters = PollCounters()
        let result = await poller.poll(on: reader, counters: counters)
        #expect(result.failure == nil)
        #expect(result.readings.map(\.quality) == [.good, .good, .good])
        #expect(result.readings.map(\.value) == [0, 4, 10])
        // Each of the 2 requests: busy, busy, answer.
        #expect(reader.log.map(\.description) == [
            "holding 10+1", "holding 10+1", "holding 10+1", "input 0+5", "input 0+5", "input 0+5",
        ])
        let counts = counters["D"]
        #expect(counts.ok == 2)
        #expect(counts.exceptions == [6: 4])
        #expect(counters.status(of: "D")?.latency?.count == 6, "busy replies are replies: they have a time")
    }

    @Test("busy_retries exhausted: the reading says exception 6, no value, and the device counts as answering")
    func busyExhausted() async {
        let reader = ScriptedReader { _, _ in .failure(.exception(.busy)) }
        var poller = DevicePoller(device: device(busyRetries: 2), profile: profile)
        let counters = PollCounters()
        let result = await poller.poll(on: reader, counters: counters)
        #expect(reader.log.count == 6, "1 + 2 busy retries per request")
        #expect(result.failure == nil, "a busy device answers: no backoff")
        #expect(result.readings.allSatisfy { $0.quality == .exception && $0.value == nil })
        #expect(result.readings.first?.detail == "exception 6 (server device busy)")
        #expect(counters["D"].exceptions == [6: 6])
    }

    @Test("other exceptions are not retried; timeouts and garbled replies are, up to retries")
    func retries() async {
        let reader = ScriptedReader { request, seen in
            switch request.address {
            case 10: .failure(.exception(.serverFailure))
            default: seen == 0 ? .failure(.badCRC) : seen == 1 ? .failure(.timeout) : .success(ScriptedReader.words(request))
            }
        }
        var poller = DevicePoller(device: device(retries: 2), profile: profile)
        let counters = PollCounters()
        let result = await poller.poll(on: reader, counters: counters)
        #expect(reader.log.map(\.description) == ["holding 10+1", "input 0+5", "input 0+5", "input 0+5"])
        #expect(result.readings.map(\.quality) == [.good, .good, .exception])
        let counts = counters["D"]
        #expect(counts.ok == 1 && counts.badCRC == 1 && counts.timeout == 1 && counts.exceptions == [4: 1])
        #expect(counters.status(of: "D")?.lastError == "timeout")
    }

    @Test("a silent device costs one request's attempts per poll; the rest is not sent")
    func deadDevice() async {
        let reader = ScriptedReader { _, _ in .failure(.timeout) }
        var poller = DevicePoller(device: device(retries: 1), profile: profile)
        let counters = PollCounters()
        let result = await poller.poll(on: reader, counters: counters)
        #expect(reader.log.map(\.description) == ["holding 10+1", "holding 10+1"])
        #expect(result.failure == "holding 10+1: timeout")
        #expect(result.readings.allSatisfy { $0.quality == .timeout && $0.value == nil })
        #expect(result.readings.first { $0.channel == "a" }?.detail == "not read: timeout on an earlier request of this poll")
        // A probe (the device is backing off) makes one attempt only.
        let probe = await poller.poll(on: reader, counters: counters, probe: true)
        #expect(reader.log.count == 3)
        #expect(probe.failure != nil)
        #expect(counters["D"].timeout == 3)
    }

    @Test("a connection failure stops the poll even after an answer; the rest is marked disconnected")
    func transportDown() async {
        let reader = ScriptedReader { request, _ in
            request.table == .holding ? .success([7]) : .failure(.transport(errno: 104, "Connection reset by peer"))
        }
        var poller = DevicePoller(device: device(retries: 0, maxFill: 0), profile: profile)
        let result = await poller.poll(on: reader, counters: PollCounters())
        #expect(reader.log.map(\.description) == ["holding 10+1", "input 0+1"])
        #expect(result.readings.map(\.quality) == [.disconnected, .disconnected, .good])
        #expect(result.failure == nil, "the device answered one request")
    }

    @Test("a request refused with exception 2 is split, read again in the same poll, and stays split")
    func fallbackToOnePerField() async {
        // The device has no register 1..3 (the hole between a and b).
        let reader = ScriptedReader { request, _ in
            let registers = request.address..<(request.address + request.count)
            if request.table == .input && registers.overlaps(1..<4) { return .failure(.exception(.illegalDataAddress)) }
            return .success(ScriptedReader.words(request))
        }
        var poller = DevicePoller(device: device(), profile: profile)
        let first = await poller.poll(on: reader, counters: PollCounters())
        #expect(first.readings.map(\.quality) == [.good, .good, .good])
        #expect(first.readings.map(\.value) == [0, 4, 10])
        #expect(poller.requests.map(\.description) == ["holding 10+1", "input 0+1", "input 4+1"])
        let second = await poller.poll(on: reader, counters: PollCounters())
        #expect(second.readings.map(\.quality) == [.good, .good, .good])
        #expect(reader.log.map(\.description) == [
            "holding 10+1", "input 0+5", "input 0+1", "input 4+1",
            "holding 10+1", "input 0+1", "input 4+1",
        ])
    }

    @Test("a field the device refuses on its own does not take its neighbours down")
    func badFieldIsolated() async {
        let reader = ScriptedReader { request, _ in
            let registers = request.address..<(request.address + request.count)
            if request.table == .input && registers.contains(4) { return .failure(.exception(.illegalDataAddress)) }
            return .success(ScriptedReader.words(request))
        }
        var poller = DevicePoller(device: device(), profile: profile)
        let result = await poller.poll(on: reader, counters: PollCounters())
        #expect(result.readings.map(\.quality) == [.good, .exception, .good])
        #expect(result.readings[1].detail == "exception 2 (illegal data address)")
    }

    @Test("a skipped slot: every channel skipped, no value, the reason in detail")
    func skipped() {
        let poller = DevicePoller(device: device(), profile: profile)
        let result = poller.skipped(reason: "backoff after 4 failed polls; next try 2026-11-24T20:31:05.000Z")
        #expect(result.skipped)
        #expect(result.readings.map(\.channel) == ["a", "b", "c"])
        #expect(result.readings.allSatisfy { $0.quality == .skipped && $0.value == nil })
        #expect(result.readings[0].detail == "backoff after 4 failed polls; next try 2026-11-24T20:31:05.000Z")
    }
}

@Test("an adapter plugged in again ends its devices' backoff: the next slot is polled, not skipped")
func adapterReturnEndsBackoff() async throws {
    let answering = Mutex(false)
    let reader = ScriptedReader { request, _ in
        answering.withLock { $0 } ? .success(ScriptedReader.words(request)) : .failure(.transport(errno: ENOENT, "gone"))
    }
    let device = Device(
        id: "D", kind: .other, bus: "b", unit: 1, profile: "p", every: .milliseconds(50), retries: 0,
        backoff: BackoffPolicy(initial: .seconds(600), maximum: .seconds(600)))
    let profile = Profile(name: "p", fields: [Field(channel: "a", table: .input, address: 0, type: .uint16)])
    let bus = ModbusBus(name: "b", transport: .tcp(host: "127.0.0.1", port: 1))
    let poller = BusPoller(
        bus: bus, pollers: [DevicePoller(device: device, profile: profile)], counters: PollCounters(), heartbeat: SchedulerHeartbeat())
    let results = Mutex<[PollResult]>([])
    let task = Task {
        await poller.run(reader: reader, deliver: { if case let .poll(r) = $0 { results.withLock { $0.append(r) } } }, missed: { _, _ in })
    }
    defer { task.cancel() }
    // The first poll fails; with a 10-minute backoff every later slot is skipped.
    try await eventually("four polls, the later ones skipped") { results.withLock { $0.count } >= 4 }
    #expect(results.withLock { $0.dropFirst().allSatisfy(\.skipped) })
    answering.withLock { $0 = true }
    await bus.adapterReturned()
    try await eventually("a poll that succeeds once the adapter is back") { results.withLock { $0.contains { $0.failure == nil && !$0.skipped } } }
}

@Test("the schedule's record: every poll's lateness against its slot, and slots missed by a bus behind")
func scheduleLatenessAndMissedSlots() async throws {
    let counters = PollCounters()
    counters.started(lateness: .milliseconds(2))
    counters.started(lateness: .milliseconds(40))
    counters.missed(slots: 3)
    let summary = counters.scheduleSummary
    #expect(summary.polls == 2)
    #expect(summary.missedSlots == 3)
    let lateness = try #require(summary.lateness)
    #expect(abs(lateness.max - 0.040) < 0.001)
    #expect(Daemon.scheduleLine(summary).hasPrefix("schedule: 2 polls started, lateness against their slots p50 2.0 ms"))
    #expect(Daemon.scheduleLine(summary).hasSuffix("; 3 slots missed"))
    #expect(Daemon.scheduleLine(PollCounters().scheduleSummary) == "schedule: 0 polls started; 0 slots missed")

    // A device whose replies take three periods: the bus poller records each poll it starts and
    // counts the slots that passed meanwhile.
    struct SlowReader: RegisterReader {
        func read(
            unit: Int, table: ModbusTable, address: Int, count: Int, options: TransactionOptions
        ) async throws(ModbusError) -> [UInt16] {
            try? await Task.sleep(for: .milliseconds(150))
            return Array(repeating: 1, count: count)
        }
    }
    let reader = SlowReader()
    let device = Device(id: "D", kind: .other, bus: "b", unit: 1, profile: "p", every: .milliseconds(50))
    let profile = Profile(name: "p", fields: [Field(channel: "a", table: .input, address: 0, type: .uint16)])
    let slow = PollCounters()
    let poller = BusPoller(
        bus: ModbusBus(name: "b", transport: .tcp(host: "127.0.0.1", port: 1)),
        pollers: [DevicePoller(device: device, profile: profile)], counters: slow, heartbeat: SchedulerHeartbeat())
    let task = Task { await poller.run(reader: reader, deliver: { _ in }, missed: { _, _ in }) }
    defer { task.cancel() }
    try await eventually("three polls and two missed slots") { slow.scheduleSummary.polls >= 3 && slow.scheduleSummary.missedSlots >= 2 }
}
