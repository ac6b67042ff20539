import Foundation
import Logging
import Testing
@testable import LabGate
@testable import LabGateDaemon
import LabGateClient

/// The pipeline in this process: polls delivered by hand, a recording writer, the alert log in a
/// temporary folder. Time is the polls' own (their wall and monotonic times are set here), and
/// the pipeline's timer is hand-driven (`tick()`, with an interval longer than any test).
private struct PipelineRun {
    let folder: TemporaryFolder
    let config: Config
    let sink: RecordingSink
    let registry: LotRegistry
    /// The deviations in the store the sink writes to (with a store).
    let deviations: DeviationBook?
    let pipeline: ReadingPipeline
    let running: Task<Void, Never>
    /// The first poll's times; `poll(at:)` counts seconds from them.
    let wallStart = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + 1).rounded(.up))
    let instantStart = ContinuousClock.now

    /// With `store`, deviations are on: their changes are written there by the sink's flushes.
    init(
        folder: TemporaryFolder, registry: LotRegistry = LotRegistry(), store: ReadingStore? = nil,
        delay: Duration = .seconds(10)
    ) async throws {
        self.folder = folder
        config = incubatorConfig(delay: delay, folder: folder.path)
        self.registry = registry
        sink = RecordingSink(store: store)
        deviations = store.map { DeviationBook(store: $0, daemonUser: "labgate") }
        var ledger: DeviationLedger?
        if let deviations { ledger = try await DeviationLedger.load(book: deviations, alertLog: folder.path + "/alerts.jsonl") }
        let pipeline = ReadingPipeline(
            writer: sink, alerts: try AlertLog(folder: folder.path), config: config, registry: registry,
            deviations: ledger, flushInterval: .seconds(3600), logger: Logger(label: "test"))
        self.pipeline = pipeline
        running = Task { await pipeline.run() }
    }

    func time(_ second: Int) -> Date { wallStart.addingTimeInterval(Double(second)) }

    /// A poll of INC-01 at `second`: its temperature and CO2 as given (nil: not in this poll).
    func poll(at second: Int, temperature: Double? = 37.0, co2: Double? = 5.0) {
        var readings: [Reading] = []
        if let temperature {
            readings.append(Reading(device: "INC-01", channel: "temperature", time: time(second), value: temperature, quality: .good))
        }
        if let co2 { readings.append(Reading(device: "INC-01", channel: "co2", time: time(second), value: co2, quality: .good)) }
        pipeline.deliver(.poll(PollResult(
            device: "INC-01", time: time(second), instant: instantStart + .seconds(second), readings: readings, failure: nil)))
    }

    /// Ends the input and waits until the pipeline has handled everything and stopped.
    func finish() async {
        pipeline.endOfInput()
        await running.value
    }

    func alerts() throws -> [AlertEvent] {
        try AlertLogReader(path: folder.path + "/alerts.jsonl").readAll().map { entry in
            guard case let .event(event) = entry else { throw UnreadableAlert(entry: "\(entry)") }
            return event
        }
    }

    struct UnreadableAlert: Error { var entry: String }
}

@Suite("Reading pipeline, in process", .timeLimit(.minutes(1)))
struct ReadingPipelineTests {
    @Test("Each poll's readings reach the writer in order, tagged with the lots inside the device when the poll was taken (by the order of lot actions, not wall-clock times)")
    func tagsReadingsWithTheLotsInside() async throws {
        let folder = try TemporaryFolder()
        let registry = LotRegistry()
        let run = try await PipelineRun(folder: folder, registry: registry)
        // Placed 30 s into the run on the monotonic clock, its event stamped by a wall clock an hour behind.
        let stepped = run.time(30).addingTimeInterval(-3600).millisecondsSince1970
        registry.apply(
            LotEvent(id: 1, lot: "MSC-0042", action: .start, device: "INC-01", spec: "msc-culture", time: stepped, user: "alice"),
            at: run.instantStart + .seconds(30))
        for second in stride(from: 0, through: 60, by: 10) { run.poll(at: second) }
        await run.finish()

        let readings = await run.sink.readings
        #expect(readings.map(\.time) == stride(from: 0, through: 60, by: 10).flatMap { [run.time($0), run.time($0)] })
        #expect(readings.map(\.channel) == Array(repeating: ["temperature", "co2"], count: 7).flatMap { $0 })
        for reading in readings {
            #expect(reading.lots == (reading.time < run.time(30) ? [] : ["MSC-0042"]), "\(reading.time)")
        }
        #expect(await run.sink.calls.last == .flush, "everything handed over is flushed before the pipeline stops")
        #expect(await run.sink.pendingCount == 0)
    }

    @Test("A channel past its limits beyond the delay is alerted once as begun and once as recovered, in order")
    func excursionAlertsInOrder() async throws {
        let folder = try TemporaryFolder()
        let run = try await PipelineRun(folder: folder)
        run.poll(at: 0)
        // Past both the spec's high limit (38) and the equipment's (37.5), longer than either delay.
        for second in stride(from: 10, through: 130, by: 10) { run.poll(at: second, temperature: 38.5) }
        run.poll(at: 140, temperature: 37.0)
        run.poll(at: 150, temperature: 37.0)
        await run.finish()

        let temperature = try run.alerts().filter { $0.channel == "temperature" }
        #expect(temperature.map(\.event) == [.excursionBegan, .excursionRecovered])
        #expect(temperature.first?.since == run.time(10), "stamped with the first reading past the limit")
        #expect(temperature.first?.device == "INC-01")
        #expect(await run.sink.readings.count == 16 * 2, "every reading is stored, alerted or not")
    }

    @Test("A lot exposed past its spec opens a deviation naming the lot, which recovers; both are alerted and recorded")
    func deviationOpensAndRecovers() async throws {
        let folder = try TemporaryFolder()
        let store = try ReadingStore(path: folder.path + "/labgate.sqlite")
        let registry = LotRegistry()
        _ = try await LotBook(store: store, registry: registry, config: incubatorConfig(folder: folder.path))
            .start(lot: "MSC-0042", device: "INC-01", spec: "msc-culture", note: nil, user: "alice")
        let run = try await PipelineRun(folder: folder, registry: registry, store: store)
        let deviations = try #require(run.deviations)
        run.poll(at: 0)
        // CO2 below the spec's 4.5 (above its critical 2.0) for longer than its 10 s delay.
        for second in stride(from: 5, through: 30, by: 5) { run.poll(at: second, co2: 3.0) }
        run.poll(at: 35, co2: 5.0)
        run.poll(at: 40, co2: 5.0)
        await run.finish()

        let events = try run.alerts().filter { [.deviationOpened, .deviationRecovered].contains($0.event) }
        #expect(events.map(\.event) == [.deviationOpened, .deviationRecovered])
        #expect(events.allSatisfy { $0.lots == ["MSC-0042"] && $0.channel == "co2" })
        let opened = try #require(events.first?.deviation)
        #expect(events.last?.deviation == opened)

        let records = try await deviations.list()
        #expect(records.map(\.id) == [opened])
        #expect(records.first?.lots == ["MSC-0042"])
        #expect(records.first?.start == run.time(5).millisecondsSince1970, "from the first reading past the limit")
        #expect(records.first?.end == run.time(35).millisecondsSince1970)
    }

    @Test("A device that stops answering mid-excursion: the deviation and the excursion alert come on the timer's tick once the delay has passed")
    func deviationOpensOnTickWithoutReadings() async throws {
        let folder = try TemporaryFolder()
        let store = try ReadingStore(path: folder.path + "/labgate.sqlite")
        let registry = LotRegistry()
        _ = try await LotBook(store: store, registry: registry, config: incubatorConfig(folder: folder.path))
            .start(lot: "MSC-0042", device: "INC-01", spec: "msc-culture", note: nil, user: "alice")
        let deviations = DeviationBook(store: store, daemonUser: "labgate")
        let run = try await PipelineRun(folder: folder, registry: registry, store: store, delay: .milliseconds(500))
        run.poll(at: 0, co2: 3.0)  // below 4.5, then nothing more
        try await Task.sleep(for: .milliseconds(200))
        run.pipeline.tick()
        try await Task.sleep(for: .milliseconds(600))
        run.pipeline.tick()
        await run.finish()

        let co2 = try run.alerts().filter { $0.channel == "co2" }
        #expect(co2.map(\.event) == [.excursionBegan, .deviationOpened])
        #expect(co2.first?.value == 3.0 && co2.first?.since == run.time(0), "the last value read, since the first reading past the limit")
        #expect(co2.last?.lots == ["MSC-0042"])
        let records = try await deviations.list()
        #expect(records.count == 1)
        #expect(records.first?.lots == ["MSC-0042"] && records.first?.start == run.time(0).millisecondsSince1970)
        #expect(records.first?.end == nil, "open: no reading has come back")
    }

    @Test("A store that refuses writes is alerted once as failing while polls go on, and once as recovered")
    func storeFailingAndRecovered() async throws {
        let folder = try TemporaryFolder()
        let run = try await PipelineRun(folder: folder)
        await run.sink.refuseWrites(true)
        run.poll(at: 0)
        await run.sink.waitForAppends(1)
        run.pipeline.tick()  // the timer's flush finds the store refusing writes
        try await eventually("store_failing") { try run.alerts().contains { $0.event == .storeFailing } }
        run.poll(at: 10)
        run.poll(at: 20)
        await run.sink.waitForAppends(2)
        await run.sink.refuseWrites(false)
        run.pipeline.tick()  // the timer's flush finds the store writable again
        await run.finish()

        let store = try run.alerts().filter { [.storeFailing, .storeRecovered].contains($0.event) }
        #expect(store.map(\.event) == [.storeFailing, .storeRecovered])
        #expect(store.first?.severity == .critical)
        #expect(store.last?.detail?.contains("nothing lost") == true)
        #expect(await run.sink.readings.count == 3 * 2, "readings refused by the store are still handed over, not dropped")
        #expect(await run.sink.pendingCount == 0)
    }

    @Test("While the store refuses writes, deviations are alerted at once with ids of their own, and recorded under those ids once it takes writes again")
    func deviationsAlertedWhileStoreRefuses() async throws {
        let folder = try TemporaryFolder()
        let store = try ReadingStore(path: folder.path + "/labgate.sqlite")
        let registry = LotRegistry()
        _ = try await LotBook(store: store, registry: registry, config: incubatorConfig(folder: folder.path))
            .start(lot: "MSC-0042", device: "INC-01", spec: "msc-culture", note: nil, user: "alice")
        let run = try await PipelineRun(folder: folder, registry: registry, store: store)
        let deviations = try #require(run.deviations)
        let year = DeviationID.year(of: run.time(0).millisecondsSince1970)
        await run.sink.refuseWrites(true)
        run.poll(at: 0)
        run.pipeline.tick()
        // CO2 below the spec's 4.5 for longer than its 10 s delay: opens on the poll at 15 s.
        for second in stride(from: 5, through: 15, by: 5) { run.poll(at: second, co2: 3.0) }
        try await eventually("deviation_opened in the alert log") { try run.alerts().contains { $0.event == .deviationOpened } }
        let first = try #require(try run.alerts().first { $0.event == .deviationOpened })
        #expect(first.deviation == DeviationID.make(year: year, number: 1))
        #expect(first.channel == "co2" && first.lots == ["MSC-0042"])
        #expect(try await deviations.list().isEmpty, "alerted before the store has it")
        #expect(await run.sink.heldRecords.contains("deviation_opened \(first.deviation!) INC-01 co2"), "held for the store")

        // CO2 back: the first deviation recovers. The temperature past its limits (the
        // equipment's 37.5 with its 60 s delay is the tightest) opens a second one, which must not
        // get the first one's id although the store does not hold that one yet.
        for second in stride(from: 20, through: 100, by: 5) { run.poll(at: second, temperature: 38.5, co2: second < 40 ? 3.0 : 5.0) }
        try await eventually("a second deviation_opened") { try run.alerts().count { $0.event == .deviationOpened } == 2 }
        let events = try run.alerts().filter { $0.deviation != nil }
        #expect(events.map(\.event) == [.deviationOpened, .deviationRecovered, .deviationOpened])
        try #require(events.count == 3)
        #expect(events[1].deviation == first.deviation && events[1].channel == "co2")
        let second = try #require(events[2].deviation)
        #expect(second == DeviationID.make(year: year, number: 2))
        #expect(events[2].channel == "temperature")
        #expect(try await deviations.list().isEmpty)
        #expect(try run.alerts().contains { $0.event == .storeFailing })

        await run.sink.refuseWrites(false)
        run.pipeline.tick()
        await run.finish()
        let records = try await deviations.list()
        #expect(records.map(\.id) == [first.deviation!, second], "stored under the ids the alerts showed")
        #expect(records.map(\.channel) == ["co2", "temperature"])
        #expect(records[0].end == run.time(40).millisecondsSince1970, "the co2 deviation ended with its recovery")
        #expect(records[1].end == nil, "the temperature's deviation is still open")
        #expect(await run.sink.heldRecords.isEmpty)
    }
}
