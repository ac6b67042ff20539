import Foundation
import LabGate
import LabGateDaemon
import Logging
import Testing

@Suite("Notifier without a notify section")
struct NotifierIdleTests {
    @Test("with no notify: section the notifier never wakes to look for due work; a reload that brings one starts its ticks")
    func idleWithoutNotify() async throws {
        let folder = try TemporaryFolder()
        let store = try ReadingStore(path: folder.path + "/store.sqlite")
        var config = incubatorConfig(folder: folder.path)
        config.notify = nil
        let notifier = Notifier(
            config: config, alarms: [], highest: [:], writer: ReadingWriter(store: store), alerts: try AlertLog(folder: folder.path),
            user: "labgate", options: .init(tick: .milliseconds(20)), logger: Logger(label: "test"))
        let running = Task { await notifier.run() }
        defer { running.cancel() }
        // Twenty-five ticks' time: none.
        try await Task.sleep(for: .milliseconds(500))
        #expect(await notifier.ticks == 0)
        config.notify = NotifySettings(channels: [], rules: [])
        await notifier.reconfigure(config)
        try await eventually("ticks after the reload", timeout: .seconds(5), asking: { await notifier.ticks >= 3 })
    }
}
