import Foundation
import Synchronization

/// What the daemon knows of its deviations before the store does: the ids it has given (a
/// counter per year, seeded at start from the store and from the ids the alert log has shown, so
/// that an id once shown is never given to another deviation, even when its record never reached
/// the store), the deviations the engine holds open (to alert their later changes without reading
/// the store) and the engine's latest state (handed from one config generation to the next).
///
/// The pipeline resolves the engine's changes here, alerts them at once and hands them to the
/// writer; the store follows when it can be written.
public final class DeviationLedger: Sendable {
    public let book: DeviationBook
    private struct State {
        var highest: [Int: Int]
        var open: [String: DeviationRecord]
        var engineState: String?
    }
    private let state: Mutex<State>

    init(book: DeviationBook, highest: [Int: Int], open: [DeviationRecord], engineState: String?) {
        self.book = book
        var seeds = highest
        for record in open {
            if let (year, number) = DeviationID.parse(record.id) { seeds[year] = max(seeds[year] ?? 0, number) }
        }
        state = Mutex(State(
            highest: seeds, open: Dictionary(open.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first }),
            engineState: engineState))
    }

    /// Reads the seeds from the store (reads only: a locked, full or read-only store still
    /// answers them) and, with `alertLog`, the ids its newest `deviation_opened` lines showed.
    public static func load(book: DeviationBook, alertLog: String? = nil) async throws -> DeviationLedger {
        var highest = try await book.highestNumbers()
        if let alertLog {
            for (year, number) in ShownDeviationIDs.highest(inAlertLog: alertLog) {
                highest[year] = max(highest[year] ?? 0, number)
            }
        }
        return DeviationLedger(
            book: book, highest: highest, open: try await book.running(), engineState: try await book.engineState())
    }

    /// The engine's latest state (the store's at start, then the pipeline's).
    public var engineState: String? {
        get { state.withLock { $0.engineState } }
        set { state.withLock { $0.engineState = newValue } }
    }

    /// A new id, never given before in this year.
    func nextID(year: Int) -> String {
        state.withLock { state in
            let number = (state.highest[year] ?? 0) + 1
            state.highest[year] = number
            return DeviationID.make(year: year, number: number)
        }
    }

    /// The engine's changes with their records: new deviations get their ids (told to the
    /// engine), the others are applied to the record of the deviation the engine holds open. A
    /// change for an id the ledger does not hold (which the engine's state and the store, kept
    /// together, should never allow) is returned in `unknown`.
    public func resolve(
        _ changes: [DeviationEngine.Change], engine: inout DeviationEngine
    ) -> (changes: [DeviationBook.Change], unknown: [String]) {
        var resolved: [DeviationBook.Change] = []
        var unknown: [String] = []
        for change in changes {
            switch change {
            case var .open(opening):
                opening.record.id = nextID(year: DeviationID.year(of: opening.record.start))
                engine.assign(opening.record.id, to: opening.ref)
                state.withLock { $0.open[opening.record.id] = opening.record }
                resolved.append(.opened(opening.record))
            case let .lotsAdded(id, lots, _):
                let record = state.withLock { state -> DeviationRecord? in
                    guard var record = state.open[id] else { return nil }
                    record.lots = Array(Set(record.lots + lots)).sorted()
                    state.open[id] = record
                    return record
                }
                if let record { resolved.append(.lotsAdded(record, added: lots)) } else { unknown.append(id) }
            case let .recovered(id, end, worst, size, _):
                let record = state.withLock { state -> DeviationRecord? in
                    guard var record = state.open.removeValue(forKey: id) else { return nil }
                    record.end = end
                    record.worst = worst ?? record.worst
                    record.size = size
                    return record
                }
                if let record { resolved.append(.recovered(record)) } else { unknown.append(id) }
            }
        }
        return (resolved, unknown)
    }
}

/// The deviation ids the alert log has shown, read from the end of alerts.jsonl back to its newest
/// `deviation_opened` lines: an id alerted whose record never reached the store (the daemon was
/// killed while the store could not be written) is never given again.
enum ShownDeviationIDs {
    static func highest(inAlertLog path: String, chunk: Int = 64 * 1024) -> [Int: Int] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [:] }
        defer { try? handle.close() }
        guard var end = try? handle.seekToEnd() else { return [:] }
        var tail = Data()
        while end > 0 {
            let start = end > UInt64(chunk) ? end - UInt64(chunk) : 0
            guard (try? handle.seek(toOffset: start)) != nil,
                let data = try? handle.read(upToCount: Int(end - start))
            else { return [:] }
            tail = data + tail
            end = start
            // Whole lines only (the first may be cut unless the file's start was reached).
            var lines = tail.split(separator: UInt8(ascii: "\n"))
            if start > 0, !lines.isEmpty { lines.removeFirst() }
            let ids = lines.compactMap { line -> String? in
                guard let text = String(data: Data(line), encoding: .utf8), text.contains("deviation_opened"),
                    let event = try? AlertFormatter.decode(json: text), event.event == .deviationOpened
                else { return nil }
                return event.deviation
            }
            if !ids.isEmpty { return DeviationID.highest(ids) }
        }
        return [:]
    }
}
