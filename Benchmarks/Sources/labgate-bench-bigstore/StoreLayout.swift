import Foundation
@_spi(Benchmarks) import LabGate

/// A store to build: `devices` incubators × 4 channels, each polled every `every` seconds for
/// `seconds`, the daemon flushing once per second (each second's polls are one seal); the lot in
/// the first device for the whole span.
struct StoreLayout {
    var name: String
    var devices: Int
    var every: Int
    var seconds: Int
    /// Devices polled one after another a second apart (`FixedRateSchedule.phased`, one bus
    /// each), or all in the same second (one bus, back to back).
    var phased: Bool
    /// The first second (UTC, since 1970); nil: the span ends an hour before the build.
    var start: Double? = nil

    static let lot = "MSC-BIG-0001"
    static let channels: [(name: String, base: Double)] = [("temperature", 37), ("co2", 5), ("humidity", 95), ("o2", 20)]

    func device(_ index: Int) -> String { "INC-" + String(index + 1).leftPadded(3) }

    /// The folder name: every parameter that changes the store (v: the generator's and the
    /// store layout's version; v2: readings and seal entries stored by series).
    var key: String { key(version: 2) }

    private func key(version: Int) -> String {
        "\(name)-\(devices)dev-every\(every)s-\(seconds)s-\(phased ? "phased" : "together")\(start.map { "-from\(Int($0))" } ?? "")-v\(version)"
    }

    var readings: Int { devices * Self.channels.count * (seconds / every) }

    var config: Config {
        let profile = Profile(name: "bench", fields: Self.channels.enumerated().map { index, channel in
            Field(channel: channel.name, table: .input, address: index * 2, type: .float32, unit: channel.name == "temperature" ? "°C" : "%")
        })
        let spec = Spec(name: "msc-culture", limits: [
            "temperature": ChannelLimits(low: 36, high: 38, delay: .seconds(600), criticalHigh: 39, source: "spec msc-culture"),
            "co2": ChannelLimits(low: 4.5, high: 5.5, delay: .seconds(900), source: "spec msc-culture"),
        ])
        return Config(
            file: "bench", site: "bench", store: "unused", alerts: NSTemporaryDirectory(),
            buses: [Bus(id: "lan", transport: .tcp(host: "127.0.0.1", port: 502))],
            devices: (0..<devices).map { Device(id: device($0), kind: .incubator, bus: "lan", unit: $0 + 1, profile: "bench", every: .seconds(Double(every))) },
            profiles: ["bench": profile], specs: ["msc-culture": spec])
    }

    /// The store's file, built unless a complete one is there; and what building it took (read
    /// back from the folder when it was built before).
    /// With `migrating`, a store of the previous version's layout in the cache is copied and
    /// brought up to date by labgate's own migration instead (much faster than building anew; the
    /// migrated store is denser than one the writer fills poll by poll).
    func store(cache: String, migrating: Bool = false) throws -> (path: String, built: String) {
        let folder = cache + "/" + key
        let path = folder + "/store.sqlite"
        let done = folder + "/complete"
        if let said = try? String(contentsOfFile: done, encoding: .utf8) {
            return (path, said.trimmingCharacters(in: .newlines) + " (built before, reused)")
        }
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let earlier = cache + "/" + key(version: 1)
        if migrating, FileManager.default.fileExists(atPath: earlier + "/complete") {
            for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: earlier + "/store.sqlite" + suffix) {
                try FileManager.default.copyItem(atPath: earlier + "/store.sqlite" + suffix, toPath: path + suffix)
            }
            let started = monotonic()
            try SealedBatchLoader(store: try ReadingStore(path: path)).checkpoint()
            let elapsed = monotonic() - started
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            let said = "\(key): migrated from \(key(version: 1)) in \(String(format: "%.0f", elapsed)) s, \(String(format: "%.2f", Double(size) / 1e9)) GB (the file keeps the old tables' pages, free)"
            try said.write(toFile: done, atomically: true, encoding: .utf8)
            return (path, said)
        }
        let started = monotonic()
        let seals = try build(path)
        let elapsed = monotonic() - started
        let size = ["", "-wal"].compactMap { try? FileManager.default.attributesOfItem(atPath: path + $0)[.size] as? Int }.reduce(0, +)
        let said = "\(key): \(readings) readings, \(seals) seals, \(String(format: "%.2f", Double(size) / 1e9)) GB, built in \(String(format: "%.0f", elapsed)) s"
        try said.write(toFile: done, atomically: true, encoding: .utf8)
        return (path, said)
    }

    private func offset(_ device: Int) -> Int { phased ? device % every : 0 }

    /// Writes the store; returns how many seals it holds.
    private func build(_ path: String) throws -> Int {
        let store = try ReadingStore(path: path)
        let start = self.start ?? (Date().timeIntervalSince1970 - Double(seconds) - 3600).rounded(.down)
        try placeLot(store: store, from: start)
        var loader = SealedBatchLoader(store: store)
        var transaction: [(readings: [Reading], committed: Date)] = []
        var held = 0
        var reported = 0
        var seals = 0
        let lots = [Self.lot]
        for second in 0..<seconds {
            var batch: [Reading] = []
            for index in 0..<devices where second >= offset(index) && (second - offset(index)) % every == 0 {
                // Back to back on one bus: 5 ms apart within the second.
                let time = Date(timeIntervalSince1970: start + Double(second) + Double(index % 200) * 0.005)
                let t = Double(second)
                for (c, channel) in Self.channels.enumerated() {
                    var value = channel.base + 0.1 * sin(t / 900 + Double(c + index))
                    if index == 0, channel.name == "co2", second >= 10 * 86400, second < 10 * 86400 + 1200 { value = 3.1 }
                    batch.append(Reading(
                        device: device(index), channel: channel.name, time: time, value: (value * 100).rounded() / 100,
                        quality: .good, lots: index == 0 ? lots : []))
                }
            }
            guard !batch.isEmpty else { continue }
            held += batch.count
            seals += 1
            transaction.append((batch, Date(timeIntervalSince1970: start + Double(second) + 1)))
            if held >= 200_000 || transaction.count >= 50_000 {
                try loader.commit(transaction)
                transaction.removeAll(keepingCapacity: true)
                held = 0
            }
            let percent = (second + 1) * 10 / seconds
            if percent > reported {
                reported = percent
                print("  building \(key): \(percent * 10) %")
            }
        }
        try loader.commit(transaction)
        try loader.checkpoint()
        return seals
    }

    /// The lot in the first device over the whole span, placed and taken out as a user would,
    /// then corrected to the span's times (the store is written after the fact).
    private func placeLot(store: ReadingStore, from start: Double) throws {
        let config = config
        let book = LotBook(store: store, registry: LotRegistry(), config: config)
        let device = device(0)
        let span = Double(seconds)
        try blocking {
            let started = try await book.start(lot: Self.lot, device: device, spec: "msc-culture", note: nil, user: "bench")
            let ended = try await book.end(lot: Self.lot, note: nil, user: "bench")
            _ = try await book.correct(lot: Self.lot, event: started.id, device: nil, spec: nil, at: Date(timeIntervalSince1970: start), reason: "bench: placed at the store's start", user: "bench")
            _ = try await book.correct(lot: Self.lot, event: ended.id, device: nil, spec: nil, at: Date(timeIntervalSince1970: start + span), reason: "bench: taken out at its end", user: "bench")
        }
    }
}

/// Runs async work from this synchronous command.
func blocking(_ work: @escaping @Sendable () async throws -> Void) throws {
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var failure: (any Error)?
    Task {
        do { try await work() } catch { failure = error }
        done.signal()
    }
    done.wait()
    if let failure { throw failure }
}

func monotonic() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

func machineLine() -> String {
    let model = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
        .split(separator: "\n").first { $0.hasPrefix("model name") }
        .map { String($0.split(separator: ":").last ?? "").trimmingCharacters(in: .whitespaces) } ?? "?"
    return "\(model), \(ProcessInfo.processInfo.activeProcessorCount) cores, load average \(loadAverage())"
}

func loadAverage() -> String {
    (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
