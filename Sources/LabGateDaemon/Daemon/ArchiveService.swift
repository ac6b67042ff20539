import Foundation
import LabGate
import Logging
import ServiceLifecycle

/// Moves months that are due into month archives (`MonthArchiver`): at start (after finishing or
/// undoing a move a kill interrupted) and every hour. The move's file work and its transaction
/// block: they run on a thread of their own, never on the cooperative pool.
struct ArchiveService: Service {
    let store: ReadingStore
    let options: MonthArchiver.Options
    let logger: Logger
    var interval: Duration = .seconds(3600)

    func run() async {
        let archiver = MonthArchiver(store: store, options: options)
        var first = true
        while !Task.isCancelled {
            let recover = first
            first = false
            let outcome: Result<([String], [MonthArchive]), any Error> = await withCheckedContinuation { continuation in
                Thread.detachNewThread {
                    continuation.resume(returning: Result {
                        let notes = recover ? try archiver.recover() : []
                        return (notes, try archiver.archiveDue())
                    })
                }
            }
            switch outcome {
            case let .success((notes, moved)):
                for note in notes { logger.notice("month archives: \(note)") }
                for archive in moved {
                    logger.notice(
                        "month \(archive.month) archived: \(archive.readings) readings, \(archive.seals) seals moved to \(archiver.folder)/\(archive.file) (SHA-256 \(archive.sha256))")
                }
            case let .failure(error):
                logger.error("month archive: \(error); the month stays in the store, tried again in an hour")
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
        }
    }
}
