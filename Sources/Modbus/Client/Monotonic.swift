import Glibc

/// CLOCK_MONOTONIC in nanoseconds, and sleeping until an instant of it: what a bus owner paces
/// frames with (never the wall clock, which can step).
public enum Monotonic {
    public static func now() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }

    /// Blocks the calling thread until `deadline` (absolute, so an interrupted sleep loses nothing).
    /// Only for threads that may block: a bus's own thread, a simulator's server thread.
    public static func sleep(until deadline: Int64) {
        var spec = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        while now() < deadline {
            if clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &spec, nil) == 0 { break }
        }
    }
}

extension Duration {
    /// Whole nanoseconds (saturating is not needed for the durations a bus deals with).
    public var inNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
