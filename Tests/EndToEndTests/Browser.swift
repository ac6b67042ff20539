import Foundation
import Glibc

/// Headless Chromium (Debian's `chromium` package, installed by `scripts/deps --test`): renders a
/// page as a user's browser would, to a PNG screenshot or a printed PDF.
struct Browser {
    let executable: String

    /// The installed browser; fails saying how to install it, since CI must render the pages.
    static func installed() throws -> Browser {
        for path in ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        where FileManager.default.isExecutableFile(atPath: path) {
            return Browser(executable: path)
        }
        throw HarnessError("no headless Chromium: install it with scripts/deps --test (apt-get install chromium)")
    }

    /// Renders `url` at `width`×`height` CSS pixels to a PNG file.
    func screenshot(_ url: String, to path: String, width: Int = 1280, height: Int = 2000) async throws {
        try await run(["--window-size=\(width),\(height)", "--screenshot=\(path)", url], output: path)
    }

    /// Prints `url` to PDF (A4, as "print to PDF" in the browser).
    func printToPDF(_ url: String, to path: String) async throws {
        try await run(["--print-to-pdf=\(path)", "--no-pdf-header-footer", url], output: path)
    }

    /// The DOM after the page's scripts ran for `budget` of virtual time.
    func dumpDOM(_ url: String, budgetMilliseconds: Int = 3000) async throws -> String {
        try await run(["--virtual-time-budget=\(budgetMilliseconds)", "--dump-dom", url], output: nil)
    }

    /// Runs the browser to its end on a profile of its own; what it printed on standard output.
    @discardableResult
    private func run(_ arguments: [String], output: String?) async throws -> String {
        let folder = try TemporaryFolder("labgate-chromium")
        // Tests run as root in CI containers, where Chromium's sandbox cannot start.
        let chromium = try ChildProcess(
            executable, [
                "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                "--user-data-dir=\(folder.file("profile"))",
            ] + arguments, folder: folder.path, name: "chromium")
        do {
            _ = try await chromium.wait(timeout: .seconds(90))
        } catch {
            chromium.kill(SIGKILL)
            throw error
        }
        let status = chromium.process.terminationStatus
        guard status == 0 else {
            throw HarnessError("chromium exited with \(status): \(chromium.stderr.suffix(2000))")
        }
        if let output, !FileManager.default.fileExists(atPath: output) {
            throw HarnessError("chromium wrote no \(output): \(chromium.stderr.suffix(2000))")
        }
        return chromium.stdout
    }
}

/// The size a PNG file declares in its header (nil when it is not a PNG).
func pngSize(_ path: String) -> (width: Int, height: Int)? {
    guard let data = FileManager.default.contents(atPath: path), data.count > 24 else { return nil }
    let bytes = [UInt8](data.prefix(24))
    guard bytes.prefix(8) == [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], bytes[12..<16] == [0x49, 0x48, 0x44, 0x52] else {
        return nil
    }
    func be32(_ at: Int) -> Int { bytes[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
    return (be32(16), be32(20))
}

/// Copies a rendered page into the folder named by LABGATE_SCREENSHOTS (scripts/screenshots
/// sets it to docs/), so the repository keeps a current picture of each page.
func keepScreenshot(_ path: String, as name: String) throws {
    guard let folder = ProcessInfo.processInfo.environment["LABGATE_SCREENSHOTS"], !folder.isEmpty else { return }
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let target = folder + "/" + name
    try? FileManager.default.removeItem(atPath: target)
    try FileManager.default.copyItem(atPath: path, toPath: target)
}
