import ArgumentParser
import Foundation
import LabGate

/// Loads a config for a command, or prints every error as FILE:LINE:COL: message and exits 1.
func loadConfig(_ path: String) throws -> Config {
    do {
        return try ConfigLoader.load(path: path)
    } catch {
        printError(error.description)
        throw ExitCode(1)
    }
}

/// Opens a store file read-only for a command, or prints why it cannot and exits 1.
func openStore(_ path: String) throws -> ReadingStore {
    do {
        return try ReadingStore(readingExisting: path)
    } catch {
        printError(error.description)
        throw ExitCode(1)
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
