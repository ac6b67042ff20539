import Foundation
import Glibc
import LabGate
import Testing

/// The alert log has a deviation as soon as the engine decides it; its record reaches the store
/// at the writer's next commit. An operator who acts on the alert at once must not be told the
/// deviation does not exist.
@Suite("control socket: a deviation alerted but not yet committed", .serialized)
struct DeviationCommitWaitEndToEndTests {
    @Test("deviations show on a deviation whose record waits behind a locked store waits for the commit instead of answering 'no deviation'")
    func showWaitsForTheCommit() async throws {
        let harness = try Harness(
            config: notifyConfig("""
                  channels:
                    - { id: hook, webhook: { url: http://127.0.0.1:9/unused, timeout: 1s } }
                  rules:
                    - { when: [bus_down], notify: [hook] }
                """),
            scenario: doorScenario(at: 300, for: 60))
        try await harness.startSim(speed: 30)
        try harness.startDaemon()
        try await harness.waitForSocket()
        try await harness.control(["lot", "start", "MSC-AT-0042", "--device", "INC-02", "--spec", "tight"])
        // The door opens 10 s after the simulator started: the store is locked by then.
        let lock = try await lockStore(harness, for: 30)
        try await eventually("deviation_opened in the alert log", timeout: .seconds(30)) {
            try harness.alertEvents().contains { $0.event == .deviationOpened }
        }
        let id = try #require(try harness.alertEvents().first { $0.event == .deviationOpened }?.deviation)
        #expect(try await harness.deviations().isEmpty, "the record is not in the store yet (the lock holds it back)")
        let asked = ContinuousClock.now
        let show = Task { try await harness.cli(["deviations", "show", id, "--config", harness.configPath]) }
        try await Task.sleep(for: .milliseconds(500))
        try await releaseLock(lock)
        let shown = try await show.value
        print("deviations show answered \(String(format: "%.3f", asked.duration(to: .now) / .seconds(1))) s after it was asked (the lock released 0.5 s after)")
        #expect(shown.status == 0, "\(shown.err)")
        #expect(shown.out.contains(id) && shown.out.contains("MSC-AT-0042"), "\(shown.out)")

        // An id nobody gave is still unknown at once.
        let started = ContinuousClock.now
        let unknown = try await harness.cli(["deviations", "show", "DEV-2020-0999", "--config", harness.configPath])
        #expect(unknown.status == 1 && unknown.err.contains("no deviation 'DEV-2020-0999'"), "\(unknown.err)")
        #expect(started.duration(to: .now) < .seconds(2))
        try await harness.stopDaemon()
    }
}
