import Foundation
import GRDB
import Testing
@testable import LabGate

@Test("readings written in batches come back in order, bad qualities without values")
func writesAndReadsBack() async throws {
    let folder = try TemporaryFolder()
    let store = try ReadingStore(path: folder.path + "/store.sqlite")
    let writer = ReadingWriter(store: store, batchSize: 4)
    let t0 = Date(timeIntervalSince1970: 1_800_000_000.123)
    var readings: [Reading] = []
    for i in 0..<7 {
        let channel = i % 2 == 0 ? "temperature" : "co2"
        let time = t0.addingTimeInterval(Double(i))
        if i == 5 {
            readings.append(Reading(device: "INC-01", channel: channel, time: time, value: nil, quality: .timeout, detail: "timeout"))
        } else {
            readings.append(Reading(device: "INC-01", channel: channel, time: time, value: Double(i), quality: .good))
        }
    }
    try await writer.append(Array(readings[0..<4]))
    #expect(await writer.pendingCount == 0, "a full batch is committed at once")
    try await writer.append(Array(readings[4...]))
    #expect(await writer.pendingCount == 3)
    try await writer.flush()
    #expect(await writer.written == 7)

    let back = try ReadingQuery(device: "INC-01").fetch(from: store)
    #expect(back == readings.map { r in
        var r = r
        r.time = Date(timeIntervalSince1970: (r.time.timeIntervalSince1970 * 1000).rounded() / 1000)
        return r
    })
    #expect(try ReadingQuery(device: "INC-01", channel: "co2").fetch(from: store).count == 3)
    #expect(try ReadingQuery(device: "INC-01", since: t0.addingTimeInterval(5)).fetch(from: store).count == 2)
}

@Test("the store is WAL and refuses a value stored with a bad quality")
func schemaGuards() async throws {
    let folder = try TemporaryFolder()
    let store = try ReadingStore(path: folder.path + "/store.sqlite")
    let mode = try await store.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
    #expect(mode == "wal")
    await #expect(throws: DatabaseError.self) {
        try await store.pool.write { db in
            try db.execute(sql: "INSERT INTO series (device, channel) VALUES ('D', 'c')")
            // quality 2 is timeout: a value next to it would be a made-up number.
            try db.execute(sql: "INSERT INTO reading (rowid, series, time, value, quality) VALUES (1, 1, 0, 0.0, 2)")
        }
    }
}

@Test("the writer connection syncs every commit (synchronous=FULL), so what was reported done survives a power cut")
func commitsAreDurable() async throws {
    let folder = try TemporaryFolder()
    let store = try ReadingStore(path: folder.path + "/store.sqlite")
    // 2 is FULL; GRDB's default for WAL is NORMAL (1), which syncs only at checkpoints.
    let writer = try await store.pool.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
    #expect(writer == 2)
}

@Test("the daemon's store connections, writer and readers, keep at most 512 KiB of pages each in memory")
func pageCacheIsBounded() async throws {
    let folder = try TemporaryFolder()
    let store = try ReadingStore(path: folder.path + "/store.sqlite")
    // Negative: a size in KiB rather than in pages.
    let writer = try await store.pool.write { db in try Int.fetchOne(db, sql: "PRAGMA cache_size") }
    let reader = try await store.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA cache_size") }
    #expect(writer == -512 && reader == -512, "writer \(String(describing: writer)), reader \(String(describing: reader))")
}

@Test("a missing or unwritable store folder is a startup error naming the path")
func storeFolderErrors() throws {
    let folder = try TemporaryFolder()
    let missing = folder.path + "/nope/store.sqlite"
    let error = #expect(throws: StartupError.self) { try ReadingStore(path: missing) }
    #expect(error?.description == "store folder \(folder.path)/nope for \(missing) does not exist")
    let alertError = #expect(throws: StartupError.self) { try AlertLog(folder: folder.path + "/logs") }
    #expect(alertError?.description.contains("\(folder.path)/logs") == true)
    if getuid() != 0 {
        try FileManager.default.setAttributes([.posixPermissions: 0o500], ofItemAtPath: folder.path)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: folder.path) }
        let denied = #expect(throws: StartupError.self) { try ReadingStore(path: folder.path + "/s.sqlite") }
        #expect(denied?.description.contains("not writable") == true)
    }
}

@Test("flushes asked for at once (timer, full batch, shutdown) write each reading exactly once")
func concurrentFlushes() async throws {
    let folder = try TemporaryFolder()
    let store = try ReadingStore(path: folder.path + "/store.sqlite")
    let writer = ReadingWriter(store: store, batchSize: 7)
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    await withThrowingTaskGroup(of: Void.self) { group in
        for task in 0..<20 {
            group.addTask {
                for i in 0..<25 {
                    let time = t0.addingTimeInterval(Double(task * 1000 + i))
                    try await writer.append([Reading(device: "D\(task % 3)", channel: "c", time: time, value: 1, quality: .good)])
                    if i % 4 == 0 { try await writer.flush() }
                }
            }
        }
    }
    try await writer.flush()
    #expect(await writer.written == 500)
    let stored = try (0..<3).flatMap { try ReadingQuery(device: "D\($0)").fetch(from: store) }
    #expect(stored.count == 500)
    #expect(Set(stored.map(\.time)).count == 500)
}

@Test("each reading keeps its own lots and text through the writer's bound insert, and its seal verifies")
func lotsAndTextThroughTheBoundInsert() async throws {
    let folder = try TemporaryFolder()
    let store = try ReadingStore(path: folder.path + "/store.sqlite")
    let writer = ReadingWriter(store: store, batchSize: 5)
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    // Consecutive readings with equal, different, unsorted and no lots: the joined lot text is
    // reused only for an equal list.
    let lots: [[String]] = [["LOT-B", "LOT-A"], ["LOT-B", "LOT-A"], ["LOT-A"], [], ["LOT-A"], ["LOT-C", "LOT-A", "LOT-B"], []]
    let readings = lots.enumerated().map { i, lots in
        i == 3
            ? Reading(device: "INC-01", channel: "co2", time: t0.addingTimeInterval(Double(i)), value: nil,
                      quality: .exception, detail: "exception 2 (illegal data address) — «°C»", lots: lots)
            : Reading(device: "INC-01", channel: "co2", time: t0.addingTimeInterval(Double(i)), value: -0.0 + Double(i) * 1e-7,
                      quality: .good, lots: lots)
    }
    try await writer.append(readings)
    try await writer.flush()

    let back = try ReadingQuery(device: "INC-01").fetch(from: store)
    #expect(back.map(\.lots) == lots.map { $0.sorted() })
    #expect(back.map(\.value) == readings.map(\.value))
    #expect(back[3].detail == "exception 2 (illegal data address) — «°C»")
    #expect(back[3].quality == .exception)
    let report = try await AuditVerifier.verify(store)
    #expect(report.ok, "\(report.problems)")
}
