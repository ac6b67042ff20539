import Modbus
import Testing
@testable import LabGate

@Suite("a device's reply times")
struct ReplyTimeHistogramTests {
    @Test("a histogram that starts small still holds a reply of 30 s: the slow reply is the max and p99, not lost")
    func slowReplyIsKept() throws {
        let counters = PollCounters()
        for _ in 0..<99 {
            counters.transaction(device: "D", .success(()), duration: .microseconds(1500))
        }
        counters.transaction(device: "D", .success(()), duration: .seconds(30))
        let latency = try #require(counters.status(of: "D")?.latency)
        #expect(latency.count == 100)
        #expect(abs(latency.p50 - 0.0015) < 0.00002)
        #expect(abs(latency.max - 30) < 0.3)
    }
}
