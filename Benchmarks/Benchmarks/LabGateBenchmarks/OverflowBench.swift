import Benchmark
import BenchSupport
import Foundation
import GRDB
import LabGate

// The writer's buffer when the store refuses writes (a full disk) and the buffer is full: what
// each poll's append costs once the oldest readings must be dropped. Another connection holds the
// store's write lock for the whole run, so every commit the writer tries fails (SQLITE_BUSY; a full
// disk gives SQLITE_FULL, and the writer treats both alike); the writer holds the daemon's default
// buffer (Config.defaultStoreBuffer readings).
//
//   scripts/bench overflow [--polls 2000] [--capacity N] [--rounds 1]

func overflowBenchmark() {
    let polls = option("polls", default: 2000)
    let capacity = option("capacity", default: Config.defaultStoreBuffer)
    let metric = figure("ns per poll past a full buffer", smallerIsBetter: true)
    Benchmark("overflow", configuration: perRound(option("rounds", default: 1), metrics: [metric])) { benchmark in
        benchmark.measurement(metric, await overflowRound(polls: polls, capacity: capacity))
    }
}

/// One round; what each poll's append cost, in nanoseconds.
func overflowRound(polls: Int, capacity: Int) async -> Int {
    let folder = NSTemporaryDirectory() + "labgate-bench-overflow-" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    do {
        let path = folder + "/store.sqlite"
        let store = try ReadingStore(path: path)
        var holding = Configuration()
        holding.allowsUnsafeTransactions = true  // the lock is held across accesses on purpose
        let blocker = try DatabaseQueue(path: path, configuration: holding)
        try await blocker.writeWithoutTransaction { try $0.execute(sql: "BEGIN IMMEDIATE") }
        let writer = ReadingWriter(store: store, batchSize: ReadingWriter.defaultBatchSize, capacity: capacity, user: "bench")
        let channels = ["temperature", "co2", "humidity", "o2"]
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        func poll(_ number: Int) -> [Reading] {
            channels.map {
                Reading(
                    device: String(format: "INC-%03d", number % 250), channel: $0,
                    time: start.addingTimeInterval(Double(number) / 250), value: 37, quality: .good)
            }
        }
        // Fill the buffer; the first full batch tries a commit, which fails and marks the store failing.
        var number = 0
        while await writer.pendingCount < capacity {
            do { try await writer.append(poll(number)) } catch {}
            number += 1
        }
        let before = monotonicSeconds()
        for _ in 0..<polls {
            do { try await writer.append(poll(number)) } catch {}
            number += 1
        }
        let elapsed = monotonicSeconds() - before
        try await blocker.writeWithoutTransaction { try $0.execute(sql: "ROLLBACK") }
        let held = await writer.pendingCount
        let lost = await writer.lostCount
        print("buffer        \(capacity) readings held (\(held) now); the store refuses writes (locked by another connection)")
        print("appends       \(polls) polls of 4 readings past a full buffer: \(fixed(elapsed, 3)) s, \(fixed(elapsed / Double(polls) * 1e6, 1)) µs per poll")
        print("dropped       \(lost) oldest readings, kept for the audit trail as lost intervals")
        return Int((elapsed / Double(polls) * 1e9).rounded())
    } catch {
        fail("overflow: \(error)")
    }
}
