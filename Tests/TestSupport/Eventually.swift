/// `eventually` gave up: what it waited for did not happen in time.
public struct TimedOut: Error, CustomStringConvertible {
    public var description: String
}

/// Waits until `condition` holds, looking every `interval`; throws naming `what` was awaited when
/// `timeout` passes first (which fails the test that awaited it).
public func eventually(
    _ what: String, timeout: Duration = .seconds(5), interval: Duration = .milliseconds(20), _ condition: () throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while try !condition() {
        guard ContinuousClock.now < deadline else { throw TimedOut(description: "timed out after \(timeout) waiting for \(what)") }
        try await Task.sleep(for: interval)
    }
}

/// `eventually` for a condition that has to await (an actor, another process's reply).
public func eventually(
    _ what: String, timeout: Duration = .seconds(5), interval: Duration = .milliseconds(20),
    asking condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw TimedOut(description: "timed out after \(timeout) waiting for \(what)") }
        try await Task.sleep(for: interval)
    }
}
