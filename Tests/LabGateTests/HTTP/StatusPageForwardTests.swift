import Foundation
import Testing
@testable import LabGate
@testable import LabGateDaemon

/// The site store's forward lag on the status page and in `/status`, beside the devices.
@Suite("status page: the forward lag")
struct StatusPageForwardTests {
    let now = Date(timeIntervalSince1970: 1_800_000_100)

    private func snapshot(_ forward: StatusSnapshot.ForwardView?) -> StatusSnapshot {
        StatusSnapshot.build(
            config: statusConfig(), statuses: [:], readings: [:], lots: { _ in [] }, deviations: [],
            backlog: StoreBacklog(held: 0, oldest: nil), started: now, now: now, forward: forward)
    }

    @Test("the lag is shown quietly while the gateway keeps up, loudly with the error when it is not connected; /status carries it")
    func forwardLag() throws {
        let keeping = StatusSnapshot.ForwardView(
            gateway: "cryo-room-1", url: "postgres://labgate@db/labgate", connected: true, lagReadings: 12, lagSeconds: 1.4,
            lastForward: now, lastError: nil)
        let quiet = StatusPage.render(snapshot(keeping))
        #expect(quiet.contains("<p class=\"forward\">site store as gateway cryo-room-1: forward lag 12 readings, 1 s</p>"))

        var lost = keeping
        lost.connected = false
        lost.lagReadings = 5400
        lost.lagSeconds = 95
        lost.lastError = "connection refused"
        let loud = StatusPage.render(snapshot(lost))
        #expect(loud.contains("<p class=\"store-lag\">site store as gateway cryo-room-1: not connected, forward lag 5400 readings, 95 s (connection refused)</p>"))

        let decoded = try StatusSnapshot.decode(snapshot(lost).json())
        #expect(decoded.forward == lost)
        #expect(!StatusPage.render(snapshot(nil)).contains("site store as gateway"))
    }
}
