import Foundation
import Glibc

/// A moment on both clocks, as the deviation engine persists it: UTC wall-clock milliseconds and
/// the kernel's boot-time clock (monotonic, counts suspend, shared by every process of one boot).
/// Durations between two stamps of the same boot are measured on the monotonic clock; across a
/// reboot only the wall clock is left.
struct Stamp: Sendable, Codable, Hashable {
    var wall: Int64
    /// CLOCK_BOOTTIME in nanoseconds.
    var mono: Int64
    var boot: String

    static func elapsed(from a: Stamp, to b: Stamp) -> Duration {
        if a.boot == b.boot { return .nanoseconds(b.mono - a.mono) }
        return .milliseconds(b.wall - a.wall)
    }
}

/// Turns a poll's wall time and `ContinuousClock` instant into a `Stamp`.
struct StampClock: Sendable {
    let boot: String
    private let originInstant: ContinuousClock.Instant
    private let originMono: Int64

    init() {
        boot = Self.bootID()
        originInstant = .now
        originMono = Self.bootTime()
    }

    func stamp(wall: Date, instant: ContinuousClock.Instant) -> Stamp {
        let offset = (instant - originInstant).components
        let ns = offset.seconds * 1_000_000_000 + offset.attoseconds / 1_000_000_000
        return Stamp(wall: wall.millisecondsSince1970, mono: originMono + ns, boot: boot)
    }

    func now() -> Stamp { stamp(wall: Date(), instant: .now) }

    static func bootTime() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_BOOTTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }

    static func bootID() -> String {
        let text = (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8)) ?? ""
        let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return id.isEmpty ? "unknown-boot" : id
    }
}
