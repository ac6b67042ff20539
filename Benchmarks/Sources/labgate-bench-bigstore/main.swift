import ArgumentParser
import Foundation
import Glibc

// Bounded work on big stores (issue 14, part 7): what `labgate report lot` and `labgate audit
// verify` cost as the store grows, run as the user runs them (the release `labgate` that $LABGATE
// names: scripts/bench builds it) on stores written by labgate's own writer code.
//
//   scripts/bench bigstore [--only ratio|month] [--rounds 3] [--weeks 6] [--others 20] [--days 30]
//
// ratio: a lot's 6-week report on a store holding only its device's readings, and on one holding
//        20 times as many readings of other devices besides (target: within 1.2x).
// month: a 30-day store sealed once per second (2.6 million seals): peak RSS and time of
//        `audit verify` and of `report lot` (target: at most 150 MB each).
// archive: (only when asked) `labgate archive` moving January 2026 (31 days of the month
//        store's layout, and a day of February) out of a copy of the store: time and peak RSS,
//        against a bare copy of the same rows by sqlite3 in the same run.
//
// Stores are built once and kept under Benchmarks/.build/bigstore (or --cache), in a folder
// named by their parameters: a rerun skips building.

struct LabGateBenchBigStore: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "labgate-bench-bigstore",
        abstract: "report lot and audit verify on big stores: time, the lot-only/mixed ratio, peak RSS.")

    @Option(help: "Only one part: ratio or month.") var only: String?
    @Option(help: "Runs of each command (figures: each run, best and median).") var rounds = 3
    @Option(help: "Weeks of the lot in the ratio stores.") var weeks = 6.0
    @Option(help: "Other devices in the mixed store (each as many readings as the lot's device).") var others = 20
    @Option(help: "Days of the month store.") var days = 30.0
    @Option(help: "Devices of the month store, polled every 10 s one second apart (so each second's flush seals one poll).") var devices = 10
    @Option(help: "Folder for the stores (kept; a rerun reuses them).") var cache = "Benchmarks/.build/bigstore"
    @Flag(help: "Build the stores and stop, nothing measured.") var buildOnly = false
    @Flag(help: "A missing store whose previous layout's version is in the cache: copy it and migrate it (labgate's migration) instead of building it anew.") var migrateEarlier = false

    func validate() throws {
        guard rounds > 0, weeks > 0, others >= 0, days > 0, devices > 0 else { throw ValidationError("numbers above 0") }
        guard only == nil || ["ratio", "month", "archive"].contains(only!) else { throw ValidationError("--only: ratio, month or archive") }
    }

    func run() throws {
        let tool = try ToolRun.binary()
        print("labgate: \(tool)")
        print("machine: \(machineLine())")
        if only == nil || only == "ratio" {
            try ratioBench(weeks: weeks, others: others, rounds: buildOnly ? 0 : rounds, cache: cache, migrating: migrateEarlier)
        }
        if only == nil || only == "month" {
            try monthBench(days: days, devices: devices, rounds: buildOnly ? 0 : rounds, cache: cache, migrating: migrateEarlier)
        }
        if only == "archive" {
            try archiveBench(devices: devices, rounds: buildOnly ? 0 : rounds, cache: cache)
        }
    }
}

signal(SIGPIPE, SIG_IGN)
LabGateBenchBigStore.main()
