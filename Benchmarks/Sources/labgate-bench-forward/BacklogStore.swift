import BenchSupport
import Foundation
@_spi(Benchmarks) import LabGate

/// A gateway store with a backlog: `devices` x 4 channels polled every second, each second's
/// polls one seal (as the daemon's once-a-second flush writes them), built with labgate's own
/// writer code and kept in `cache` under a name of its parameters.
struct BacklogStore {
    let readings: Int
    let devices: Int
    let cache: String

    static let channels: [(name: String, base: Double)] = [("temperature", 37), ("co2", 5), ("humidity", 95), ("o2", 20)]

    func path() throws -> (path: String, said: String) {
        let folder = "\(cache)/\(readings)r-\(devices)dev-v1"
        let path = folder + "/store.sqlite"
        if let said = try? String(contentsOfFile: folder + "/complete", encoding: .utf8) {
            return (path, said.trimmingCharacters(in: .newlines) + " (built before, reused)")
        }
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let started = monotonicSeconds()
        let store = try ReadingStore(path: path)
        var loader = SealedBatchLoader(store: store)
        let perSecond = devices * Self.channels.count
        let seconds = (readings + perSecond - 1) / perSecond
        let start = (Date().timeIntervalSince1970 - Double(seconds) - 3600).rounded(.down)
        var transaction: [(readings: [Reading], committed: Date)] = []
        var written = 0
        for second in 0..<seconds {
            var batch: [Reading] = []
            for device in 0..<devices {
                for (index, channel) in Self.channels.enumerated() where written + batch.count < readings {
                    let value = channel.base + 0.1 * sin(Double(second) / 900 + Double(index + device))
                    batch.append(Reading(
                        device: "INC-\(device + 1)", channel: channel.name,
                        time: Date(timeIntervalSince1970: start + Double(second) + Double(device % 200) * 0.005),
                        value: (value * 100).rounded() / 100, quality: .good))
                }
            }
            written += batch.count
            transaction.append((batch, Date(timeIntervalSince1970: start + Double(second) + 1)))
            if transaction.count * perSecond >= 200_000 {
                try loader.commit(transaction)
                transaction.removeAll(keepingCapacity: true)
            }
        }
        try loader.commit(transaction)
        try loader.checkpoint()
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        let said = "\(readings) readings of \(devices) devices x 4 channels, \(seconds) seals (one per second), \(fixed(Double(size) / 1e6, 0)) MB, built in \(fixed(monotonicSeconds() - started, 0)) s"
        try said.write(toFile: folder + "/complete", atomically: true, encoding: .utf8)
        return (path, said)
    }
}
