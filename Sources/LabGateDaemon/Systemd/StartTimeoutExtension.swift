import Dispatch
import Foundation

extension SystemdNotifier {
    /// Runs `body` (a start step that may take long: a store migration rewrites whole tables, minutes
    /// on a big store) while asking systemd for more start time. A Type=notify service that has not
    /// said READY=1 within TimeoutStartSec (90 s by default) is killed, its migration rolled back,
    /// and restarted into the same migration: after an upgrade it would never start. Each
    /// EXTEND_TIMEOUT_USEC gives `window` more from the moment it is sent, so a start that is working
    /// is never killed and one that hangs (no more messages) still is.
    public func extendingStartTimeout<T, E: Error>(
        status: String, every interval: Duration = .seconds(20), window: Duration = .seconds(60),
        _ body: () throws(E) -> T
    ) throws(E) -> T {
        guard isActive else { return try body() }
        let extend = "EXTEND_TIMEOUT_USEC=\(window.components.seconds * 1_000_000 + window.components.attoseconds / 1_000_000_000_000)"
        send([extend, "STATUS=\(status)"])
        let done = DispatchSemaphore(value: 0)
        let stopped = DispatchSemaphore(value: 0)
        let wait = DispatchTimeInterval.milliseconds(Int(interval / .milliseconds(1)))
        let thread = Thread { [self] in
            while done.wait(timeout: .now() + wait) == .timedOut { send([extend]) }
            stopped.signal()
        }
        thread.name = "labgate-start-timeout"
        thread.start()
        defer {
            done.signal()
            stopped.wait()
        }
        return try body()
    }
}
