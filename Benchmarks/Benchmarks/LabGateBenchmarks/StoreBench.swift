import Benchmark
import BenchSupport
import Foundation
import GRDB
import LabGate

// Store ingest (issue #7, figure 4): readings per second written through ReadingWriter, the
// daemon's single writer, and bytes on disk per million readings, against bare GRDB inserts of the
// same rows into the same schema (the limit: what SQLite through GRDB takes on this machine).
//
// The readings are what a site's daemon hands the writer: `--devices` devices (default 20) with 4
// channels each, polled every 10 s, handed over one poll (4 readings) at a time as the pipeline
// does; most devices hold one or two culture lots (every 5th is empty), 1 poll in 500 is a timeout
// with its reason. The writer runs as the daemon runs it: batches of ReadingWriter.defaultBatchSize
// readings (or --batch N), each committed in one transaction with its lot sets and its seal
// (digest of the batch, chained by hash).
//
// Peers, each into a fresh store file (schema from ReadingStore, GRDB's default configuration):
// - bare GRDB, batches: one prepared INSERT per reading (ids already known, arguments as GRDB
//   takes them), one transaction per batch of the writer's size, no lots to resolve, no seal;
// - bare GRDB, one transaction: the same, every reading in a single transaction.
// Bytes on disk: the database file plus its WAL after a checkpoint (TRUNCATE).
//
//   scripts/bench store [--readings 1000000] [--devices 20] [--rounds 3] [--batch N] [--only labgate]

func storeBenchmark() {
    let rounds = option("rounds", default: 3)
    let metrics = [
        figure("labgate readings/s"), figure("bare GRDB batches, readings/s"), figure("bare GRDB one transaction, readings/s"),
        figure("labgate/bare batches ‰"), figure("bytes on disk per 1000 readings", smallerIsBetter: true),
    ]
    let run = StoreRun(
        total: option("readings", default: 1_000_000), deviceCount: option("devices", default: 20),
        only: option("only"), batchSize: option("batch", default: 0))
    Benchmark("store", configuration: perRound(rounds, metrics: metrics)) { benchmark in
        for (metric, value) in await run.round() { benchmark.measurement(metric, value) }
    } setup: {
        await run.prepare()
    } teardown: {
        await run.finish()
    }
}

struct StoreRow {
    var series: Int64
    var time: Int64
    var value: Double?
    var quality: Int
    var detail: String?
    var lotSet: Int64?
}

/// The database file and its WAL after a checkpoint, in bytes.
func storeBytes(_ path: String) throws -> (database: Int, wal: Int) {
    let queue = try DatabaseQueue(path: path)
    try queue.writeWithoutTransaction { db in _ = try Row.fetchAll(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
    try queue.close()
    func size(_ file: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? NSNumber)?.intValue ?? 0
    }
    return (size(path), size(path + "-wal"))
}


/// The store benchmark's readings and folder, made once before the rounds.
actor StoreRun {
    let total: Int
    let deviceCount: Int
    let only: String?
    let batchSize: Int
    let channels = ["temperature", "co2", "humidity", "o2"]
    let devices: [String]
    let lots: [[String]]
    let folder = NSTemporaryDirectory() + "labgate-bench-store-" + UUID().uuidString
    private var batches: [[Reading]] = []
    private var round = 0

    init(total: Int, deviceCount: Int, only: String?, batchSize: Int) {
        if let only, only != "labgate" { fail("--only: labgate") }
        self.total = total
        self.deviceCount = deviceCount
        self.only = only
        self.batchSize = batchSize
        devices = (1...deviceCount).map { String(format: "INC-%02d", $0) }
        lots = devices.indices.map { index in
            if index % 5 == 4 { return [] }
            let lot = String(format: "MSC-AT-%04d", index + 1)
            return index % 3 == 0 ? [lot, String(format: "MSC-AT-%04d", index + 101)] : [lot]
        }
    }

    /// The polls, made before any timing.
    func prepare() {
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let polls = (total + channels.count - 1) / channels.count
        let t0 = (Date().timeIntervalSince1970 - Double(polls / deviceCount) * 10).rounded(.down)
        batches.reserveCapacity(polls)
        var left = total
        for poll in 0..<polls {
            let device = poll % deviceCount
            let seconds = Double(poll / deviceCount) * 10
            let time = Date(timeIntervalSince1970: t0 + seconds + Double(device * 37) / 1000)
            let timedOut = poll % 500 == 499
            var readings: [Reading] = []
            for (index, channel) in channels.prefix(min(channels.count, left)).enumerated() {
                let value = [37.0, 5.0, 95.0, 20.0][index] + 0.05 * sin(seconds / 600 + Double(device))
                readings.append(timedOut
                    ? Reading(device: devices[device], channel: channel, time: time, value: nil, quality: .timeout,
                              detail: "timeout: no reply within 1 s (input 0+8)", lots: lots[device])
                    : Reading(device: devices[device], channel: channel, time: time, value: value, quality: .good, lots: lots[device]))
            }
            left -= readings.count
            batches.append(readings)
        }
        print("readings       \(total): \(deviceCount) devices × 4 channels every 10 s, handed over one poll (4 readings) at a time")
        print("lots           1 or 2 per device (every 5th device empty); 1 poll in 500 a timeout with its reason")
        print("machine        \(machineSummary())")
    }

    func finish() {
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// One round: labgate's writer, then bare GRDB in batches and in one transaction.
    func round() async -> [(BenchmarkMetric, Int)] {
        var figures: [(BenchmarkMetric, Int)] = []
        round += 1
        let round = round
        print("round \(round)")
        // labgate: ReadingWriter as the daemon runs it.
        let path = folder + "/labgate-\(round).sqlite"
        var labgate = 0.0
        var labgateBytes = 0
        do {
            let store = try ReadingStore(path: path)
            let writer = batchSize > 0
                ? ReadingWriter(store: store, batchSize: batchSize, user: "bench") : ReadingWriter(store: store, user: "bench")
            let start = monotonicSeconds()
            for batch in batches { try await writer.append(batch) }
            try await writer.flush()
            let elapsed = monotonicSeconds() - start
            let written = await writer.written
            labgate = Double(written) / elapsed
            print("  labgate ReadingWriter       \(fixed(labgate, 0).leftPad(9)) readings/s  (\(written) in \(fixed(elapsed, 2)) s, batches of \(batchSize > 0 ? batchSize : ReadingWriter.defaultBatchSize) with lot sets and seals; target 200000: \(fixed(labgate / 200_000, 2)) of it)")
        } catch {
            fail("labgate writer: \(error)")
        }
        do {
            let bytes = try storeBytes(path)
            labgateBytes = bytes.database + bytes.wal
            print("  labgate store on disk        \(labgateBytes) bytes (database \(bytes.database) + WAL \(bytes.wal)): \(fixed(Double(labgateBytes) / Double(total), 1)) MB per million readings")
        } catch {
            fail("checkpoint: \(error)")
        }
        figures.append((figure("labgate readings/s"), Int(labgate)))
        figures.append((figure("bytes on disk per 1000 readings", smallerIsBetter: true), labgateBytes * 1000 / total))
        if only == "labgate" { return figures }

        var rawBytes = 0
        for single in [false, true] {
            let rawPath = folder + "/raw-\(round)-\(single ? "one" : "batches").sqlite"
            do {
                _ = try ReadingStore(path: rawPath)  // the same schema, then closed
                let pool = try DatabasePool(path: rawPath)
                let devices = devices
                let channels = channels
                let lots = lots
                // Ids resolved before timing: the bare loop only inserts.
                let (seriesIDs, lotSetIDs) = try await pool.write { db -> ([String: Int64], [String: Int64]) in
                    var series: [String: Int64] = [:]
                    for device in devices {
                        for channel in channels {
                            try db.execute(sql: "INSERT INTO series (device, channel) VALUES (?, ?)", arguments: [device, channel])
                            series[device + "/" + channel] = db.lastInsertedRowID
                        }
                    }
                    var sets: [String: Int64] = [:]
                    for set in Set(lots.filter { !$0.isEmpty }.map { $0.sorted().joined(separator: ",") }) {
                        try db.execute(sql: "INSERT INTO lot_set (lots) VALUES (?)", arguments: [set])
                        sets[set] = db.lastInsertedRowID
                    }
                    return (series, sets)
                }
                let rows = batches.joined().map { reading in
                    StoreRow(
                        series: seriesIDs[reading.device + "/" + reading.channel]!, time: Int64((reading.time.timeIntervalSince1970 * 1000).rounded()),
                        value: reading.value, quality: reading.quality == .good ? 0 : 2, detail: reading.detail,
                        lotSet: reading.lots.isEmpty ? nil : lotSetIDs[reading.lots.sorted().joined(separator: ",")])
                }
                let size = single ? rows.count : (batchSize > 0 ? batchSize : ReadingWriter.defaultBatchSize)
                let start = monotonicSeconds()
                var seal: Int64 = 0
                for from in stride(from: 0, to: rows.count, by: size) {
                    seal += 1
                    let chunk = rows[from..<min(from + size, rows.count)]
                    let number = seal
                    try await pool.write { db in
                        // Rows numbered in the order written, as the writer numbers them (the
                        // table is keyed by series since "v6 readings and seal entries stored by series").
                        let insert = try db.cachedStatement(
                            sql: "INSERT INTO reading (rowid, series, time, value, quality, detail, lot_set, seal) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
                        for (offset, row) in chunk.enumerated() {
                            try insert.execute(arguments: [
                                Int64(from + offset + 1), row.series, row.time, row.value, row.quality, row.detail, row.lotSet, number,
                            ])
                        }
                    }
                }
                let elapsed = monotonicSeconds() - start
                let rate = Double(rows.count) / elapsed
                try pool.close()
                if single {
                    figures.append((figure("bare GRDB one transaction, readings/s"), Int(rate)))
                    print("  bare GRDB, one transaction  \(fixed(rate, 0).leftPad(9)) readings/s  (\(rows.count) in \(fixed(elapsed, 2)) s)")
                    print("  ratio labgate/bare one tx   \(fixed(labgate / rate, 3))")
                } else {
                    figures.append((figure("bare GRDB batches, readings/s"), Int(rate)))
                    figures.append((figure("labgate/bare batches ‰"), Int((1000 * labgate / rate).rounded())))
                    print("  bare GRDB, batches          \(fixed(rate, 0).leftPad(9)) readings/s  (\(rows.count) in \(fixed(elapsed, 2)) s)")
                    print("  ratio labgate/bare batches  \(fixed(labgate / rate, 3))")
                    let bytes = try storeBytes(rawPath)
                    rawBytes = bytes.database + bytes.wal
                    print("  bare store on disk           \(rawBytes) bytes: \(fixed(Double(rawBytes) / Double(total), 1)) MB per million readings; bytes labgate/bare \(fixed(Double(labgateBytes) / Double(rawBytes), 3))")
                }
            } catch {
                fail("bare GRDB: \(error)")
            }
        }
        return figures
    }
}
