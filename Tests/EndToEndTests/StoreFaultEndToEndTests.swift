import Foundation
import Glibc
import LabGate
import Testing

/// The store failing under a running daemon, injected for real: a `sqlite3` process holding the
/// write lock, a full tmpfs, the files made immutable, EIO on the WAL from a preloaded shim.
/// Each run puts a lot in INC-02 whose door opens while the store cannot be written, and
/// measures what FAULTS.md reports: how long after the engine's decision each deviation alert
/// was in alerts.jsonl, readings lost, records duplicated.

/// A `sqlite3` shell holding the store's write lock (BEGIN IMMEDIATE) for `seconds`, as a
/// backup tool or a curious operator would.
func lockStore(_ harness: Harness, for seconds: Int) async throws -> ChildProcess {
    let lock = try harness.process(
        "/usr/bin/sqlite3", [harness.storePath, ".timeout 5000", "BEGIN IMMEDIATE;", ".shell sleep \(seconds)", "COMMIT;"], name: "lock")
    try await eventually("the store locked by sqlite3", timeout: .seconds(10)) {
        (try runCommand("/usr/bin/sqlite3", [harness.storePath, "BEGIN IMMEDIATE;", "ROLLBACK;"])).status != 0
    }
    return lock
}

/// Ends a `lockStore` lock early: its `sleep` ends, the shell commits and exits. (Killing the
/// shell itself would leave its `sleep`, which keeps the shell's output files open.)
func releaseLock(_ lock: ChildProcess) async throws {
    func descendants(of pid: pid_t) -> [pid_t] {
        let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        return children.split(separator: " ").compactMap { pid_t($0) }.flatMap { [$0] + descendants(of: $0) }
    }
    for pid in descendants(of: lock.pid).reversed() { kill(pid, SIGTERM) }
    _ = try await lock.wait(timeout: .seconds(10))
}

/// A door opening on INC-02 at `at` simulated seconds (the simulator runs 30 times faster than
/// the clock) for `seconds` simulated seconds.
func doorScenario(at: Int, for seconds: Int) -> String {
    "events:\n  - { at: \(at)s, device: INC-02, event: door_open, for: \(seconds)s }\n"
}

/// `eventually` for a condition that reads the store through its async API.
func eventuallyAsync(_ what: String, timeout: Duration, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw HarnessError("timed out after \(timeout) waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(50))
    }
}

/// What a fault cost, as FAULTS.md reports it.
struct FaultFigures: CustomStringConvertible {
    var openedDelay: Double
    var recoveredDelay: Double
    var readingsLost: Int
    var duplicated: Int
    var description: String {
        String(format: "deviation_opened %.3f s after its decision, deviation_recovered %.3f s; readings lost %d; records duplicated %d",
               openedDelay, recoveredDelay, readingsLost, duplicated)
    }
}

extension Harness {
    /// Waits for the first alert of `kind` (matching `filter`); returns it and how long after its
    /// own time (the engine's decision: the poll that decided it) the test saw it in alerts.jsonl.
    func awaitAlert(
        _ kind: AlertEvent.Kind, timeout: Duration = .seconds(40), where filter: @escaping (AlertEvent) -> Bool = { _ in true }
    ) async throws -> (event: AlertEvent, delay: Double) {
        var found: AlertEvent?
        try await eventually("\(kind.rawValue) in alerts.jsonl", timeout: timeout, interval: .milliseconds(10)) {
            found = try self.alertEvents().first { $0.event == kind && filter($0) }
            return found != nil
        }
        let event = found!
        return (event, Date().timeIntervalSince(event.time))
    }

    /// Polls the daemon printed (time and device) that are not in the store.
    func printedNotStored() throws -> [String] {
        var stored: Set<String> = []
        for device in ["INC-01", "INC-02"] {
            for reading in try readings(device: device) { stored.insert("\(UTCTime.format(reading.time)) \(device)") }
        }
        let printed = Set((daemon?.stdout ?? "").split(separator: "\n").map { $0.split(separator: " ").prefix(2).joined(separator: " ") })
        return printed.subtracting(stored).sorted()
    }

    /// Readings stored more than once (same device, channel and time).
    func duplicatedReadings() throws -> Int {
        var count = 0
        for device in ["INC-01", "INC-02"] {
            let all = try readings(device: device)
            count += all.count - Set(all.map { "\($0.channel) \($0.time.timeIntervalSince1970)" }).count
        }
        return count
    }

    func auditActions(object: String? = nil) async throws -> [AuditEntry] {
        try AuditTrail.list(in: ReadingStore(readingExisting: storePath), object: object)
    }
}

/// A lot in INC-02 whose door opens while the store cannot be written (`inject`), which stays so
/// until the deviation has opened and recovered; then `release`. Checks what every such fault
/// must keep and returns the figures.
func excursionThroughStoreFault(
    _ harness: Harness, inject: () async throws -> Void, release: () async throws -> Void
) async throws -> FaultFigures {
    try await harness.startSim(speed: 30)
    try harness.startDaemon()
    try await harness.waitForSocket()
    try await harness.control(["lot", "start", "LOT-F", "--device", "INC-02", "--spec", "tight"])
    try await eventually("first readings stored", timeout: .seconds(20)) { ((try? harness.readings(device: "INC-02"))?.count ?? 0) > 10 }
    try await inject()
    let (opened, openedDelay) = try await harness.awaitAlert(.deviationOpened)
    let id = try #require(opened.deviation)
    #expect(try await harness.deviations().isEmpty, "alerted while the store could not take it")
    let (_, recoveredDelay) = try await harness.awaitAlert(.deviationRecovered) { $0.deviation == id }
    #expect(try harness.alertEvents().contains { $0.event == .storeFailing }, "the failure is alerted")
    #expect(try await harness.deviations().isEmpty)
    try await release()
    _ = try await harness.awaitAlert(.storeRecovered, timeout: .seconds(30))
    try await eventuallyAsync("the deviation stored", timeout: .seconds(10)) { try await harness.deviations().first?.end != nil }
    try await harness.stopDaemon()

    let deviations = try await harness.deviations()
    #expect(deviations.map(\.id) == [id], "stored under the id the alert showed, once")
    #expect(deviations.first?.lots == ["LOT-F"])
    #expect(deviations.first?.opened == opened.time.millisecondsSince1970)
    let events = try harness.deviationEvents()
    #expect(events.map(\.event) == [.deviationOpened, .deviationRecovered])
    let audited = try await harness.auditActions(object: "deviation \(id)").map(\.action)
    #expect(audited == ["deviation_opened", "deviation_recovered"])
    let lost = try harness.printedNotStored()
    #expect(lost == [], "every poll accepted is stored")
    let duplicated = try harness.duplicatedReadings()
    #expect(duplicated == 0)
    let verify = try await harness.cli(["audit", "verify", "--store", harness.storePath])
    #expect(verify.status == 0, "\(verify.out) \(verify.err)")
    // One poll period (200 ms) of the decision, plus the 10 ms the test looks at the file.
    #expect(openedDelay < 0.25, "deviation_opened \(openedDelay) s after its decision")
    #expect(recoveredDelay < 0.25, "deviation_recovered \(recoveredDelay) s after its decision")
    return FaultFigures(openedDelay: openedDelay, recoveredDelay: recoveredDelay, readingsLost: lost.count, duplicated: duplicated)
}

@Suite("the store failing under a running daemon", .serialized)
struct StoreFaultEndToEndTests {
    @Test("the store locked by sqlite3 (BEGIN IMMEDIATE) through an excursion with a lot inside: deviation alerts on time, stored under their ids once the lock goes")
    func lockedStore() async throws {
        let harness = try Harness(config: lotConfig(), scenario: doorScenario(at: 360, for: 90))
        var lock: ChildProcess?
        let figures = try await excursionThroughStoreFault(
            harness,
            inject: { lock = try await lockStore(harness, for: 25) },
            release: {
                #expect(lock?.isRunning == true, "both alerts came while the lock was held")
                _ = try await lock?.wait(timeout: .seconds(40))
            })
        print("FAULT store locked 25 s: \(figures)")
    }

    @Test("the disk full through an excursion with a lot inside: deviation alerts on time, stored under their ids once space returns",
          .enabled(if: SmallFilesystem.available, "needs root to mount a small tmpfs"))
    func diskFull() async throws {
        let harness = try Harness(
            config: lotConfig().replacingOccurrences(of: "store: FOLDER/labgate.sqlite", with: "store: FOLDER/full/labgate.sqlite"),
            scenario: doorScenario(at: 360, for: 90))
        let disk = try SmallFilesystem(at: harness.folder + "/full", size: "2m")
        harness.storePath = disk.path + "/labgate.sqlite"
        var filler: String?
        let figures = try await excursionThroughStoreFault(
            harness,
            inject: { filler = try disk.fill() },
            release: { try FileManager.default.removeItem(atPath: filler!) })
        print("FAULT disk full: \(figures)")
    }

    @Test("the store made read-only (chattr +i on the database and its WAL) through an excursion: deviation alerts on time, stored once writable")
    func readOnlyStore() async throws {
        let harness = try Harness(config: lotConfig(), scenario: doorScenario(at: 360, for: 90))
        let files = [harness.storePath, harness.storePath + "-wal"]
        let figures = try await excursionThroughStoreFault(
            harness,
            inject: {
                let made = try runCommand("/usr/bin/chattr", ["+i"] + files)
                try #require(made.status == 0, "chattr +i: \(made.err)")
            },
            release: { _ = try runCommand("/usr/bin/chattr", ["-i"] + files) })
        print("FAULT store read-only: \(figures)")
    }

    @Test("EIO on every write and fsync of the WAL (a preloaded shim) through an excursion: deviation alerts on time, stored once the errors stop",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/cc"), "needs a C compiler for the shim"))
    func walIOError() async throws {
        let harness = try Harness(config: lotConfig(), scenario: doorScenario(at: 360, for: 90))
        let shim = try WALErrorShim(folder: harness.folder)
        harness.daemonEnvironment = shim.environment
        let figures = try await excursionThroughStoreFault(
            harness,
            inject: { try shim.start() },
            release: { try shim.stop() })
        #expect(harness.daemon!.stderr.contains("disk I/O error"), "the failure was the injected I/O error")
        print("FAULT WAL I/O error: \(figures)")
    }

    @Test("kill -9 while a deviation is alerted but not stored (store locked): after the restart no id is given twice, nothing is duplicated, committed readings stay")
    func killedMidDeviation() async throws {
        let harness = try Harness(config: lotConfig(), scenario: doorScenario(at: 360, for: 600))
        try await harness.startSim(speed: 30)
        try harness.startDaemon()
        try await harness.waitForSocket()
        try await harness.control(["lot", "start", "LOT-K", "--device", "INC-02", "--spec", "tight"])
        try await eventually("first readings stored", timeout: .seconds(20)) { ((try? harness.readings(device: "INC-02"))?.count ?? 0) > 10 }
        let lock = try await lockStore(harness, for: 60)
        let committed = try harness.readings(device: "INC-02").count
        let (first, _) = try await harness.awaitAlert(.deviationOpened)
        harness.daemon?.kill(SIGKILL)
        _ = try await harness.daemon?.wait(timeout: .seconds(10))
        try await releaseLock(lock)
        #expect(try await harness.deviations().isEmpty, "the opening was not stored before the kill")

        try harness.startDaemon()
        let (second, _) = try await harness.awaitAlert(.deviationOpened, timeout: .seconds(30)) { $0.deviation != first.deviation }
        try await eventuallyAsync("the second deviation stored", timeout: .seconds(10)) { try await !harness.deviations().isEmpty }
        try await harness.stopDaemon()

        let ids = try await harness.deviations().map(\.id)
        #expect(ids == [second.deviation!], "the excursion goes on as a deviation of its own")
        #expect(DeviationID.parse(second.deviation!)!.number == DeviationID.parse(first.deviation!)!.number + 1,
                "\(first.deviation!), shown before the kill, is not given again")
        #expect(try harness.readings(device: "INC-02").count > committed, "readings committed before the kill stay, polling went on")
        #expect(try harness.duplicatedReadings() == 0)
        let verify = try await harness.cli(["audit", "verify", "--store", harness.storePath])
        #expect(verify.status == 0, "\(verify.out) \(verify.err)")
    }

    @Test("SIGTERM while the store is locked: exit 0 within the bound, and what could not be written is logged and alerted")
    func stopDuringFailure() async throws {
        let harness = try Harness(config: lotConfig())
        try await harness.startSim(speed: 30)
        try harness.startDaemon()
        try await eventually("first readings stored", timeout: .seconds(20)) { ((try? harness.readings(device: "INC-02"))?.count ?? 0) > 10 }
        let lock = try await lockStore(harness, for: 60)
        _ = try await harness.awaitAlert(.storeFailing, timeout: .seconds(20))
        let stopped = ContinuousClock.now
        harness.daemon?.kill(SIGTERM)
        let status = try await harness.daemon?.wait(timeout: .seconds(30))
        let took = ContinuousClock.now - stopped
        try await releaseLock(lock)
        #expect(status == 0)
        #expect(took < .seconds(17), "10 s of retries plus at most one 5 s busy timeout: took \(took)")
        let unwritten = try #require(harness.alertLines().first { $0.contains("store_unwritten") })
        #expect(unwritten.contains("CRITICAL"))
        #expect(unwritten.contains("daemon_stopped daemon"), "the records not written are named: \(unwritten)")
        #expect(harness.daemon!.stderr.contains("store_unwritten"), "and the journal says so")
        print("FAULT SIGTERM during a store failure: exit \(status ?? -1) after \(took)")
    }

    @Test("started with the store locked: polls and alerts, holds its audit entries, reloads on SIGHUP, and writes everything once the lock goes")
    func startAndReloadWhileLocked() async throws {
        let harness = try Harness(config: lotConfig())
        try await harness.startSim(speed: 30)
        try harness.startDaemon()
        try await eventually("store made", timeout: .seconds(20)) { ((try? harness.readings(device: "INC-02"))?.count ?? 0) > 0 }
        try await harness.stopDaemon()
        let lock = try await lockStore(harness, for: 20)
        let before = try await harness.auditActions().count
        try harness.startDaemon()
        _ = try await harness.awaitAlert(.storeFailing, timeout: .seconds(20))
        #expect(harness.daemon?.isRunning == true)
        try await eventually("polling goes on", timeout: .seconds(10)) { (harness.daemon?.stdout.split(separator: "\n").count ?? 0) > 10 }
        harness.daemon?.kill(SIGHUP)
        try await eventually("reloaded", timeout: .seconds(10)) { harness.daemon!.stderr.contains("reloaded") }
        #expect(lock.isRunning, "reloaded while the store was still locked")
        _ = try await lock.wait(timeout: .seconds(30))
        _ = try await harness.awaitAlert(.storeRecovered, timeout: .seconds(20))
        try await harness.stopDaemon()

        let actions = try await harness.auditActions().dropFirst(before).map(\.action)
        #expect(actions == ["daemon_started", "config_loaded", "config_loaded", "daemon_stopped"])
        #expect(try harness.printedNotStored() == [])
        let verify = try await harness.cli(["audit", "verify", "--store", harness.storePath])
        #expect(verify.status == 0, "\(verify.out) \(verify.err)")
    }

    @Test("started with the disk full: polls and alerts, and writes everything once space returns",
          .enabled(if: SmallFilesystem.available, "needs root to mount a small tmpfs"))
    func startOnFullDisk() async throws {
        let harness = try Harness(
            config: lotConfig().replacingOccurrences(of: "store: FOLDER/labgate.sqlite", with: "store: FOLDER/full/labgate.sqlite"))
        let disk = try SmallFilesystem(at: harness.folder + "/full", size: "2m")
        harness.storePath = disk.path + "/labgate.sqlite"
        try await harness.startSim(speed: 30)
        try harness.startDaemon()
        try await eventually("store made", timeout: .seconds(20)) { ((try? harness.readings(device: "INC-02"))?.count ?? 0) > 0 }
        try await harness.stopDaemon()
        let filler = try disk.fill()
        try harness.startDaemon()
        _ = try await harness.awaitAlert(.storeFailing, timeout: .seconds(20))
        try await eventually("polling goes on", timeout: .seconds(10)) { (harness.daemon?.stdout.split(separator: "\n").count ?? 0) > 10 }
        try FileManager.default.removeItem(atPath: filler)
        _ = try await harness.awaitAlert(.storeRecovered, timeout: .seconds(20))
        try await harness.stopDaemon()
        #expect(try harness.printedNotStored() == [])
        let actions = try await harness.auditActions().map(\.action)
        #expect(actions.suffix(3) == ["daemon_started", "config_loaded", "daemon_stopped"])
    }
}

/// A shared object preloaded into the daemon that fails every write and fsync of a file whose
/// name ends in `-wal` with EIO while a trigger file exists: an I/O error on the WAL, which no
/// file system here produces on demand (a device-mapper `error` target needs a block device).
final class WALErrorShim {
    let library: String
    let trigger: String

    init(folder: String) throws {
        let source = folder + "/walerror.c"
        library = folder + "/walerror.so"
        trigger = folder + "/wal-error"
        try Self.source.write(toFile: source, atomically: true, encoding: .utf8)
        let built = try runCommand("/usr/bin/cc", ["-shared", "-fPIC", "-O2", "-o", library, source, "-ldl"])
        guard built.status == 0 else { throw HarnessError("cannot build the shim: \(built.err)") }
    }

    var environment: [String: String] { ["LD_PRELOAD": library, "WAL_ERROR_TRIGGER": trigger] }

    func start() throws {
        guard FileManager.default.createFile(atPath: trigger, contents: nil) else { throw HarnessError("cannot create \(trigger)") }
    }
    func stop() throws { try FileManager.default.removeItem(atPath: trigger) }

    static let source = #"""
        #define _GNU_SOURCE
        #include <dlfcn.h>
        #include <errno.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <sys/types.h>
        #include <unistd.h>

        static int failing(int fd) {
            const char *trigger = getenv("WAL_ERROR_TRIGGER");
            if (!trigger || access(trigger, F_OK) != 0) return 0;
            char link[64], path[4096];
            snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
            ssize_t n = readlink(link, path, sizeof path - 1);
            if (n < 4) return 0;
            path[n] = 0;
            return strcmp(path + n - 4, "-wal") == 0;
        }

        #define FAIL_IF_WAL(fd) do { if (failing(fd)) { errno = EIO; return -1; } } while (0)

        ssize_t write(int fd, const void *buf, size_t count) {
            static ssize_t (*real)(int, const void *, size_t);
            if (!real) real = dlsym(RTLD_NEXT, "write");
            FAIL_IF_WAL(fd);
            return real(fd, buf, count);
        }
        ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset) {
            static ssize_t (*real)(int, const void *, size_t, off_t);
            if (!real) real = dlsym(RTLD_NEXT, "pwrite");
            FAIL_IF_WAL(fd);
            return real(fd, buf, count, offset);
        }
        ssize_t pwrite64(int fd, const void *buf, size_t count, off64_t offset) {
            static ssize_t (*real)(int, const void *, size_t, off64_t);
            if (!real) real = dlsym(RTLD_NEXT, "pwrite64");
            FAIL_IF_WAL(fd);
            return real(fd, buf, count, offset);
        }
        int fsync(int fd) {
            static int (*real)(int);
            if (!real) real = dlsym(RTLD_NEXT, "fsync");
            FAIL_IF_WAL(fd);
            return real(fd);
        }
        int fdatasync(int fd) {
            static int (*real)(int);
            if (!real) real = dlsym(RTLD_NEXT, "fdatasync");
            FAIL_IF_WAL(fd);
            return real(fd);
        }
        """#
}

@Test("power cut: a lot action is answered only after the WAL holding it is synced (strace of the daemon)",
      .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/strace"), "needs strace (scripts/deps --test)"))
func answeredAfterFsync() async throws {
    let harness = try Harness(config: lotConfig())
    try await harness.startSim()
    let trace = harness.folder + "/strace.txt"
    try harness.startDaemon(extra: [], wrapper: [
        "/usr/bin/strace", "-f", "-y", "-s", "64", "-o", trace,
        "-e", "trace=fsync,fdatasync,read,recvfrom,recvmsg,write,writev,sendto,sendmsg",
    ])
    try await eventually("control socket under strace", timeout: .seconds(60)) {
        UnixSocketAddress.isListening(harness.folder + "/control.sock")
    }
    try await harness.control(["lot", "start", "LOT-P", "--device", "INC-01", "--spec", "tight"])
    // SIGTERM to the daemon itself (strace's child); strace ends with it.
    let strace = try #require(harness.daemon)
    let children = try String(contentsOfFile: "/proc/\(strace.pid)/task/\(strace.pid)/children", encoding: .utf8)
    for pid in children.split(separator: " ").compactMap({ pid_t($0) }) { kill(pid, SIGTERM) }
    #expect(try await strace.wait(timeout: .seconds(30)) == 0)

    let lines = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n").map(String.init)
    let request = try #require(lines.firstIndex { $0.contains("POST /lots") }, "the request read by the daemon")
    let answer = try #require(lines[request...].firstIndex { $0.contains("HTTP/1.1 20") }, "the answer written")
    // A sync of the WAL that finished between the two (strace splits a call that another thread
    // interrupts into "<unfinished ...>" and "<... resumed>").
    var waiting: Set<Substring> = []
    var synced: [Int] = []
    for index in lines.indices {
        let line = lines[index]
        let pid = line.prefix { $0 != " " }
        let isSync = line.contains("fsync(") || line.contains("fdatasync(")
        if isSync, line.contains("-wal>"), line.contains("unfinished") {
            waiting.insert(pid)
        } else if isSync, line.contains("-wal>"), line.contains("= 0") {
            synced.append(index)
        } else if waiting.contains(pid), line.contains("sync resumed>") {
            waiting.remove(pid)
            if line.contains("= 0") { synced.append(index) }
        }
    }
    let between = synced.filter { $0 > request && $0 < answer }
    #expect(!between.isEmpty, "no sync of the WAL between the request (line \(request)) and its answer (line \(answer))")
    print("FAULT power cut: \(between.count) sync(s) of the WAL between the lot request (trace line \(request + 1)) and its answer (line \(answer + 1)): \(between.first.map { lines[$0] } ?? "")")
}
