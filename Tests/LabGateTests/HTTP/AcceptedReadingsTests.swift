import Foundation
import Logging
import Testing
import TestSupport
@testable import LabGate
@testable import LabGateDaemon

@Suite("status views: the latest readings are those the pipeline accepted")
struct AcceptedReadingsTests {
    let now = Date(timeIntervalSince1970: 1_800_000_100)

    @Test("a poll the pipeline has not taken is not shown, though the poll counters saw it; once taken, it is")
    func acceptedNotPolled() async throws {
        let folder = try TemporaryFolder()
        var config = statusConfig()
        config.store = folder.path + "/labgate.sqlite"
        config.alerts = folder.path
        let counters = PollCounters()
        let readings = LatestReadings()
        let pipeline = ReadingPipeline(
            writer: ReadingWriter(store: try ReadingStore(path: config.store)), alerts: try AlertLog(folder: folder.path),
            config: config, latest: readings, logger: Logger(label: "test"))
        let now = now
        func poll(co2: Double, at second: Double) -> PollResult {
            let time = now.addingTimeInterval(second)
            return PollResult(device: "INC-01", time: time, instant: .now, readings: [
                Reading(device: "INC-01", channel: "temperature", time: time, value: 37, quality: .good),
                Reading(device: "INC-01", channel: "co2", time: time, value: co2, quality: .good),
            ], failure: nil)
        }
        /// What `/status` and the page show for INC-01's co2.
        func shown() -> StatusSnapshot.ChannelView? {
            StatusSnapshot.build(
                config: config, statuses: counters.snapshot(at: now), readings: readings.snapshot(), lots: { _ in [] },
                deviations: [], backlog: StoreBacklog(held: 0, oldest: nil), started: now, now: now
            ).devices[0].channels.first { $0.channel == "co2" }
        }
        // Delivered as a bus poller does: counted at once, shown once the pipeline has taken it.
        let first = poll(co2: 5.0, at: -2)
        counters.poll(first)
        pipeline.deliver(.poll(first))
        #expect(counters.status(of: "INC-01")?.lastPoll == first.time)
        #expect(shown()?.value == nil && shown()?.quality == nil, "not taken yet")
        let running = Task { await pipeline.run() }
        try await eventually("the accepted reading shown") { shown()?.value == 5.0 }
        pipeline.endOfInput()
        await running.value
        // The pipeline has stopped: this poll is counted but never accepted (nor stored, nor evaluated).
        let late = poll(co2: 4.0, at: -1)
        counters.poll(late)
        pipeline.deliver(.poll(late))
        #expect(counters.status(of: "INC-01")?.lastPoll == late.time)
        #expect(shown()?.value == 5.0 && shown()?.time == first.time)
    }

    @Test("the latest reading of each channel keeps the latest good value when it has none")
    func lastGood() throws {
        let readings = LatestReadings()
        let t0 = now
        readings.record([Reading(device: "INC-01", channel: "co2", time: t0, value: 5.02, quality: .good)])
        readings.record([Reading(
            device: "INC-01", channel: "co2", time: t0.addingTimeInterval(1), value: nil, quality: .sensorFault, detail: "sentinel")])
        let co2 = try #require(readings.snapshot()["INC-01"]?.first)
        #expect(co2.quality == .sensorFault && co2.value == nil && co2.detail == "sentinel")
        #expect(co2.lastGoodValue == 5.02 && co2.lastGoodTime == t0)
    }
}
