import Foundation
import Modbus
import Testing

/// An actor pinned to a ThreadExecutor, as ModbusBus is.
private actor Pinned {
    nonisolated let executor = ThreadExecutor(name: "modbus test-bus")
    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    func onOwnThread() -> Bool {
        executor.isCurrent && !Thread.isMainThread
    }

    /// Blocks its thread, as a libmodbus call waiting for a reply does.
    func block(for seconds: Double) {
        Thread.sleep(forTimeInterval: seconds)
    }
}

@Test("a bus owner's calls run on its own thread, and blocking there leaves Swift's pool free")
func runsOnItsOwnThread() async throws {
    let pinned = Pinned()
    #expect(await pinned.onOwnThread())
    #expect(!pinned.executor.isCurrent, "the test itself is not on the bus thread")
    // While the bus thread is blocked, work on the cooperative pool still runs at once.
    let blocked = Task { await pinned.block(for: 1.0) }
    try await Task.sleep(for: .milliseconds(50))
    let started = ContinuousClock.now
    let onBusThread = await Task.detached { pinned.executor.isCurrent }.value
    #expect(ContinuousClock.now - started < .milliseconds(500))
    #expect(!onBusThread)
    await blocked.value
}
