import ArgumentParser
import Foundation
import LabGate

/// `labgate archive`: moves the months that are due out of the live store into month archives
/// (what the daemon does every hour when `archive_after` is set), or says why none is due.
struct ArchiveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archive",
        abstract: "Move months that ended archive_after ago (and, with a site store, that it confirmed) into month archive files.")

    @Option(help: "Configuration file (store, archive_after, site_store).") var config: String?
    @Option(help: "Archive this store file (no site store: nothing to confirm).") var store: String?
    @Option(help: "How long after a month ended it may move (default: the config's archive_after).") var after: String?
    @Flag(help: "Only say which month would move next, and when.") var dryRun = false
    /// Fault tests: the process kills itself (SIGKILL) at this stage of a move.
    @Option(help: .hidden) var killAt: String?

    func run() async throws {
        let loaded = try config.map(loadConfig) ?? (store == nil ? loadConfig("/etc/labgate/labgate.yaml") : nil)
        let path = store ?? loaded!.store
        guard let delay = after != nil ? DurationText.parse(after!) : loaded?.archiveAfter else {
            printError(after == nil ? "no archive_after in the config: give --after (e.g. 90d)" : "bad duration '\(after!)' (use e.g. 90d)")
            throw ExitCode(2)
        }
        let opened: ReadingStore
        do {
            opened = try ReadingStore(path: path)
        } catch {
            printError(error.description)
            throw ExitCode(1)
        }
        var options = MonthArchiver.Options(after: delay, requireSiteConfirmation: loaded?.siteStore != nil)
        options.user = ProcessInfo.processInfo.environment["USER"] ?? "labgate"
        if let killAt {
            guard let stage = MonthArchiver.Stage(rawValue: killAt) else { throw ValidationError("unknown stage \(killAt)") }
            options.onStage = { if $0 == stage { kill(getpid(), SIGKILL) } }
        }
        let archiver = MonthArchiver(store: opened, options: options)
        do {
            for note in try archiver.recover() { print(note) }
            if dryRun {
                guard let next = try archiver.candidate() else { return print("nothing to archive: the store holds no seals") }
                print(next.waiting.map { "next: \($0)" } ?? "next: \(next.month) may move now (seals \(next.firstSeal)–\(next.lastSeal))")
                return
            }
            let moved = try archiver.archiveDue()
            for archive in moved {
                print("\(archive.month): \(archive.readings) readings, \(archive.seals) seals moved to \(archiver.folder)/\(archive.file) (SHA-256 \(archive.sha256))")
            }
            if moved.isEmpty, let next = try archiver.candidate(), let waiting = next.waiting { print("nothing moved: \(waiting)") }
        } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
    }
}
