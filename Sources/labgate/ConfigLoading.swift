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

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
