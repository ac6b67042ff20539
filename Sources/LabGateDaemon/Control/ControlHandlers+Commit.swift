import LabGate

extension ControlHandlers {
    /// The longest a request waits for a deviation's record to be committed.
    static let commitWait = Duration.seconds(3)

    /// Runs `body` against the store, again while it says a deviation is unknown or still open
    /// only because the store is behind: the alert log has a deviation's opening or recovery as
    /// soon as the engine decides it, its record reaches the store at the writer's next commit
    /// (a moment later, or once a lock is gone). An id the engine holds open but the store does
    /// not know, or a deviation the store holds open but the engine no longer does, is that
    /// case; it waits for the commit, at most `commitWait`, then the store's answer stands.
    func afterCommit<T: Sendable>(of id: String, _ body: () async throws -> T) async throws -> T {
        let deadline = ContinuousClock.now + Self.commitWait
        while true {
            do {
                return try await body()
            } catch DeviationError.unknownDeviation(let unknown) {
                guard unknown == id, progress[id] != nil, ContinuousClock.now < deadline else { throw DeviationError.unknownDeviation(unknown) }
            } catch DeviationError.stillOpen(let open) {
                guard open == id, progress[id] == nil, ContinuousClock.now < deadline else { throw DeviationError.stillOpen(id: open) }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
