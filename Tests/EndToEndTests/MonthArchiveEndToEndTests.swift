import Foundation
import GRDB
import Glibc
@testable import LabGate
import Testing

/// UTC ms of a day of 2026.
private func day(_ month: Int, _ day: Int) -> Int64 {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    return calendar.date(from: DateComponents(year: 2026, month: month, day: day))!.millisecondsSince1970
}

/// A store with LOT-A in INC-01 from 10 to 25 October (corrected to then) and INC-01's two
/// channels every 10 min from 1 October to 3 November, sealed in batches of 2 h committed at
/// their readings' time; returns how many readings it holds.
@discardableResult
private func seed(_ path: String) async throws -> Int {
    let store = try ReadingStore(path: path)
    let profile = Profile(name: "inc", fields: [
        Field(channel: "temperature", table: .input, address: 0, type: .float32, unit: "°C"),
        Field(channel: "co2", table: .input, address: 2, type: .int16, scale: 0.01, unit: "%"),
    ])
    let spec = Spec(name: "msc-culture", limits: ["temperature": ChannelLimits(low: 36, high: 38, delay: .seconds(60), source: "spec msc-culture")])
    let device = Device(id: "INC-01", kind: .incubator, bus: "sim", unit: 1, profile: "inc", every: .seconds(600), spec: "msc-culture")
    let config = Config(
        file: "seed.yaml", site: "e2e", store: path, alerts: "/tmp", buses: [Bus(id: "sim", transport: .tcp(host: "127.0.0.1", port: 1502))],
        devices: [device], profiles: ["inc": profile], specs: ["msc-culture": spec])
    let book = LotBook(store: store, registry: LotRegistry(), config: config)
    let started = try await book.start(lot: "LOT-A", device: "INC-01", spec: "msc-culture", note: nil, user: "alice")
    let ended = try await book.end(lot: "LOT-A", note: nil, user: "alice")
    _ = try await book.correct(lot: "LOT-A", event: started.id, device: nil, spec: nil, at: Date(millisecondsSince1970: day(10, 10)), reason: "placed then", user: "alice")
    _ = try await book.correct(lot: "LOT-A", event: ended.id, device: nil, spec: nil, at: Date(millisecondsSince1970: day(10, 25)), reason: "taken out then", user: "alice")
    var polls: [Reading] = []
    var count = 0
    var time = day(10, 1)
    while time < day(11, 3) {
        let date = Date(millisecondsSince1970: time)
        polls.append(Reading(device: "INC-01", channel: "temperature", time: date, value: 37 + Double(count % 5) / 10, quality: .good, lots: ["LOT-A"]))
        polls.append(Reading(device: "INC-01", channel: "co2", time: date, value: 5 + Double(count % 7) / 10, quality: .good, lots: ["LOT-A"]))
        count += 1
        if count % 12 == 0 {
            let batch = polls
            polls = []
            let sealedAt = time
            try await store.pool.write { db in _ = try ReadingWriter.insert(batch, known: ReadingWriter.Known(), db: db, sealedAt: sealedAt) }
        }
        time += 600_000
    }
    return try await store.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM reading") ?? 0 }
}

/// Readings in the live store and in the archives, and row numbers found in both.
private func census(_ folder: String) throws -> (live: Int, archived: Int, duplicated: Int, files: [String]) {
    let live = try DatabaseQueue(path: folder + "/labgate.sqlite", configuration: MonthArchiver.readOnly)
    let rows = Set(try live.read { db in try Int64.fetchAll(db, sql: "SELECT rowid FROM reading") })
    let files = ((try? FileManager.default.contentsOfDirectory(atPath: folder + "/archive")) ?? []).sorted()
    var archived = 0
    var duplicated = 0
    for file in files where file.hasSuffix(".sqlite") {
        let archive = try DatabaseQueue(path: folder + "/archive/" + file, configuration: MonthArchiver.readOnly)
        let moved = try archive.read { db in try Int64.fetchAll(db, sql: "SELECT rowid FROM reading") }
        archived += moved.count
        duplicated += moved.filter(rows.contains).count
    }
    return (rows.count, archived, duplicated, files)
}

private func labgate(_ arguments: [String]) throws -> CommandResult { try runCommand(Harness.binary, arguments) }

@Suite("month archives with the real binaries", .serialized)
struct MonthArchiveEndToEndTests {
    @Test("labgate archive killed -9 at each stage of a move: the next run finishes or undoes it, nothing lost, nothing twice")
    func killedMidMove() async throws {
        for stage in MonthArchiver.Stage.allCases {
            let folder = try TemporaryFolder("labgate-archive-kill")
            let store = folder.path + "/labgate.sqlite"
            let total = try await seed(store)
            let killed = try labgate(["archive", "--store", store, "--after", "1d", "--kill-at", stage.rawValue])
            #expect(killed.status == SIGKILL, "\(stage): \(killed.err)")
            let after = try census(folder.path)
            #expect(after.live + after.archived - after.duplicated == total, "\(stage): \(after)")
            let started = ContinuousClock.now
            let rerun = try labgate(["archive", "--store", store, "--after", "1d"])
            let recovery = ContinuousClock.now - started
            #expect(rerun.status == 0, "\(stage): \(rerun.err)")
            let end = try census(folder.path)
            #expect(end.files == ["readings-2026-10.sqlite"], "\(stage): \(end.files)")
            #expect(end.live + end.archived == total && end.duplicated == 0, "\(stage): \(end)")
            let verify = try labgate(["audit", "verify", "--store", store, "--anchors", folder.path + "/no-anchors"])
            #expect(verify.status == 0, "\(stage): \(verify.out)\(verify.err)")
            let moves = try await DatabaseQueue(path: store, configuration: MonthArchiver.readOnly).read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM audit WHERE action = 'month_archived'")
            }
            #expect(moves == 1)
            print("FAULTS kill -9 at \(stage): files after kill \(after.files), live \(after.live), archived \(after.archived), duplicated \(after.duplicated); rerun \(recovery) -> live \(end.live) + archived \(end.archived) = \(total), lost 0, duplicated \(end.duplicated)")
        }
    }

    @Test("labgated with archive_after moves the ended month at start while it polls; audit verify and the lot report read the archive")
    func daemonArchives() async throws {
        let harness = try Harness(config: """
            site: e2e
            store: FOLDER/labgate.sqlite
            alerts: FOLDER
            archive_after: 1d
            buses:
              - id: lan
                tcp: { host: 127.0.0.1, port: PORT }
            devices:
              - { id: INC-02, kind: incubator, bus: lan, unit: 1, profile: inc, every: 200ms, timeout: 300ms }
            profiles:
              inc:
                temperature: { table: input, address: 0, type: float32, order: CDAB, unit: "°C" }
            """)
        let total = try await seed(harness.storePath)
        let before = try labgate(["report", "lot", "LOT-A", "--store", harness.storePath, "--format", "json", "--anchors", harness.folder + "/none"])
        #expect(before.status == 0, "\(before.err)")
        try await harness.startSim()
        try harness.startDaemon(extra: [])
        let file = harness.folder + "/archive/readings-2026-10.sqlite"
        try await eventually("October archived by labgated", timeout: .seconds(60)) { FileManager.default.fileExists(atPath: file) }
        try await eventually("the move committed", timeout: .seconds(30)) {
            let now = try census(harness.folder)
            return now.archived == 31 * 144 * 2 && now.duplicated == 0
        }
        harness.daemon?.kill(SIGTERM)
        _ = try await harness.daemon?.wait(timeout: .seconds(30))
        let end = try census(harness.folder)
        #expect(end.archived == 31 * 144 * 2 && end.duplicated == 0 && end.live > total - end.archived)
        let verify = try labgate(["audit", "verify", "--store", harness.storePath, "--anchors", harness.folder + "/none"])
        #expect(verify.status == 0, "\(verify.out)\(verify.err)")
        let after = try labgate(["report", "lot", "LOT-A", "--store", harness.storePath, "--format", "json", "--anchors", harness.folder + "/none"])
        #expect(after.status == 0, "\(after.err)")
        func placements(_ json: String) throws -> Data {
            let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
            return try JSONSerialization.data(withJSONObject: object?["placements"] ?? [], options: .sortedKeys)
        }
        #expect(try placements(after.out) == placements(before.out), "the lot's report reads October from the archive as it read it from the store")
        #expect(try placements(before.out).count > 10_000)
    }

    @Test("a full disk while the archive file is written: the move fails, no file is left, the store is whole; with room again it moves",
          .enabled(if: SmallFilesystem.available, "needs root to mount a small tmpfs"))
    func diskFull() async throws {
        let folder = try TemporaryFolder("labgate-archive-full")
        let small = try SmallFilesystem(at: folder.file("fs"), size: "16m")
        let store = small.path + "/labgate.sqlite"
        let total = try await seed(store)
        // 128 KiB left: the archive's file is begun and the disk fills while its rows are copied.
        let filler = try small.fill()
        let size = try FileManager.default.attributesOfItem(atPath: filler)[.size] as! Int
        #expect(truncate(filler, off_t(size - 131_072)) == 0)
        let full = try labgate(["archive", "--store", store, "--after", "1d"])
        #expect(full.status == 1 && full.err.contains("full"), "\(full.err)")
        let after = try census(small.path)
        #expect(after.live == total && after.files == [], "\(after)")
        #expect(try labgate(["audit", "verify", "--store", store, "--anchors", folder.path + "/none"]).status == 0)
        try FileManager.default.removeItem(atPath: filler)
        let room = try labgate(["archive", "--store", store, "--after", "1d"])
        #expect(room.status == 0, "\(room.err)")
        let end = try census(small.path)
        #expect(end.live + end.archived == total && end.duplicated == 0 && end.files == ["readings-2026-10.sqlite"])
        print("FAULTS disk full during archive write: exit \(full.status) '\(full.err.trimmingCharacters(in: .whitespacesAndNewlines))'; live \(after.live) of \(total), files \(after.files); after freeing: archived \(end.archived), live \(end.live)")
    }
}
