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
//   labgate-bench store [--readings 1000000] [--devices 20] [--rounds 3] [--batch N] [--only labgate]

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

func runStore(total: Int, deviceCount: Int, rounds: Int, only: String?, batchSize: Int) async {
    let channels = ["temperature", "co2", "humidity", "o2"]
    let devices = (1...deviceCount).map { String(format: "INC-%02d", $0) }
    let lots: [[String]] = devices.indices.map { index in
        if index % 5 == 4 { return [] }
        let lot = String(format: "MSC-AT-%04d", index + 1)
        return index % 3 == 0 ? [lot, String(format: "MSC-AT-%04d", index + 101)] : [lot]
    }
    let folder = NSTemporaryDirectory() + "labgate-bench-store-" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }

    // The polls, made before any timing.
    let polls = (total + channels.count - 1) / channels.count
    let t0 = (Date().timeIntervalSince1970 - Double(polls / deviceCount) * 10).rounded(.down)
    var batches: [[Reading]] = []
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
    print("")

    var labgateRates: [Double] = []
    var batchRates: [Double] = []
    var oneRates: [Double] = []
    var labgateBytes = 0
    var rawBytes = 0
    for round in 1...rounds {
        print("round \(round)")
        // labgate: ReadingWriter as the daemon runs it.
        let path = folder + "/labgate-\(round).sqlite"
        do {
            let store = try ReadingStore(path: path)
            let writer = batchSize > 0
                ? ReadingWriter(store: store, batchSize: batchSize, user: "bench") : ReadingWriter(store: store, user: "bench")
            let start = monotonicSeconds()
            for batch in batches { try await writer.append(batch) }
            try await writer.flush()
            let elapsed = monotonicSeconds() - start
            let written = await writer.written
            let rate = Double(written) / elapsed
            labgateRates.append(rate)
            print("  labgate ReadingWriter       \(fixed(rate, 0).leftPad(9)) readings/s  (\(written) in \(fixed(elapsed, 2)) s, batches of \(batchSize > 0 ? batchSize : ReadingWriter.defaultBatchSize) with lot sets and seals)")
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
        if only == "labgate" { continue }

        for single in [false, true] {
            let rawPath = folder + "/raw-\(round)-\(single ? "one" : "batches").sqlite"
            do {
                _ = try ReadingStore(path: rawPath)  // the same schema, then closed
                let pool = try DatabasePool(path: rawPath)
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
                        let insert = try db.cachedStatement(
                            sql: "INSERT INTO reading (series, time, value, quality, detail, lot_set, seal) VALUES (?, ?, ?, ?, ?, ?, ?)")
                        for row in chunk {
                            try insert.execute(arguments: [row.series, row.time, row.value, row.quality, row.detail, row.lotSet, number])
                        }
                    }
                }
                let elapsed = monotonicSeconds() - start
                let rate = Double(rows.count) / elapsed
                try pool.close()
                if single {
                    oneRates.append(rate)
                    print("  bare GRDB, one transaction  \(fixed(rate, 0).leftPad(9)) readings/s  (\(rows.count) in \(fixed(elapsed, 2)) s)")
                } else {
                    batchRates.append(rate)
                    print("  bare GRDB, batches          \(fixed(rate, 0).leftPad(9)) readings/s  (\(rows.count) in \(fixed(elapsed, 2)) s)")
                    let bytes = try storeBytes(rawPath)
                    rawBytes = bytes.database + bytes.wal
                    print("  bare store on disk           \(rawBytes) bytes: \(fixed(Double(rawBytes) / Double(total), 1)) MB per million readings")
                }
            } catch {
                fail("bare GRDB: \(error)")
            }
        }
    }
    print("")
    print("median of \(rounds) round(s)")
    let labgate = median(labgateRates) ?? 0
    print("  labgate ReadingWriter       \(fixed(labgate, 0)) readings/s  (target at least 200000: \(fixed(labgate / 200_000, 2)) of it)")
    print("  bytes on disk               \(fixed(Double(labgateBytes) / Double(total), 1)) MB per million readings (bytes per reading)")
    if let batches = median(batchRates), let one = median(oneRates) {
        print("  bare GRDB, batches          \(fixed(batches, 0)) readings/s")
        print("  bare GRDB, one transaction  \(fixed(one, 0)) readings/s")
        print("ratio labgate/bare batches    \(fixed(labgate / batches, 3))")
        print("ratio labgate/bare one tx     \(fixed(labgate / one, 3))")
        print("bytes labgate/bare            \(fixed(Double(labgateBytes) / Double(rawBytes), 3))")
    }
}
