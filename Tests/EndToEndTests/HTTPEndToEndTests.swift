import Foundation
import Glibc
import LabGate
import LabGateDaemon
import Testing

/// Two incubators, INC-02 silent from the start, a spec no incubator meets (so a lot in one opens
/// a deviation within a second), and, unless `http` is nil, the HTTP listener on that port.
private func httpConfig(http: Int?) -> String {
    """
    site: e2e-http
    store: FOLDER/labgate.sqlite
    alerts: FOLDER
    control: FOLDER/control.sock
    roles: { operators: [\(primaryGroup())], qa: [\(primaryGroup())] }
    \(http.map { "http: { port: \($0), refresh: 2s }" } ?? "")
    buses:
      - id: lan
        tcp: { host: 127.0.0.1, port: PORT }
    devices:
      - { id: INC-01, kind: incubator, bus: lan, unit: 1, profile: inc, every: 200ms, timeout: 300ms, retries: 0 }
      - { id: INC-02, kind: incubator, bus: lan, unit: 2, profile: inc, every: 200ms, timeout: 300ms, retries: 0 }
    profiles:
      inc:
        temperature: { table: input, address: 0, type: float32, order: CDAB, unit: "°C" }
        co2: { table: input, address: 2, type: int16, scale: 0.01, unit: "%", invalid: [-32768] }
    specs:
      unmet:
        co2: { low: 6.0, high: 7.0, delay: 1s }
    """
}

private let silentINC02 = "events:\n  - { at: 0s, device: INC-02, event: silent, for: 1h }\n"

/// TCP ports the process listens on: its socket inodes matched against the kernel's LISTEN table.
private func listeningPorts(pid: Int32) -> Set<Int> {
    let fdFolder = "/proc/\(pid)/fd"
    let inodes = Set(((try? FileManager.default.contentsOfDirectory(atPath: fdFolder)) ?? []).compactMap { fd -> String? in
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(fdFolder)/\(fd)"),
            target.hasPrefix("socket:[")
        else { return nil }
        return String(target.dropFirst(8).dropLast())
    })
    var ports: Set<Int> = []
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = (try? String(contentsOfFile: table, encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ")
            // local_address is HEXADDR:HEXPORT; st 0A is LISTEN; the inode is the tenth field.
            guard fields.count > 9, fields[3] == "0A", inodes.contains(String(fields[9])),
                let port = fields[1].split(separator: ":").last.flatMap({ Int($0, radix: 16) })
            else { continue }
            ports.insert(port)
        }
    }
    return ports
}

/// The first sample of `name` whose labels include every one of `labels` (e.g. `device="INC-01"`).
private func metric(_ text: String, _ name: String, _ labels: String...) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
        guard labels.allSatisfy({ line.contains($0) }), let value = line.split(separator: " ").last else { continue }
        return Double(value)
    }
    return nil
}

@Suite("HTTP listener against the simulator", .serialized)
struct HTTPEndToEndTests {
    @Test("/metrics and /status over TCP: polls count up, a silent device's timeouts appear, a lot's deviation shows as open; the page shows it")
    func scrape() async throws {
        let web = freePort()
        let harness = try Harness(config: httpConfig(http: web), scenario: silentINC02)
        try await harness.startSim()
        try harness.startDaemon(extra: [])
        try await harness.waitForSocket()
        try await eventually("the HTTP listener", timeout: .seconds(20)) { httpGet(port: web, path: "/metrics")?.status == 200 }
        let daemon = try #require(harness.daemon)
        #expect(listeningPorts(pid: daemon.process.processIdentifier) == [web], "the listener, and nothing else over TCP")
        #expect(daemon.stderr.contains("status page on http://127.0.0.1:\(web)/"))

        let first = try #require(httpGet(port: web, path: "/metrics"))
        #expect(first.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
        let answered = #"outcome="answered""#
        let before = metric(first.body, "labgate_polls_total", #"device="INC-01""#, #"bus="lan""#, answered) ?? -1
        try await eventually("INC-01's polls to count up and INC-02's timeouts to appear", timeout: .seconds(20)) {
            guard let text = httpGet(port: web, path: "/metrics")?.body else { return false }
            let now = metric(text, "labgate_polls_total", #"device="INC-01""#, answered) ?? 0
            let timeouts = metric(text, "labgate_modbus_transactions_total", #"device="INC-02""#, #"outcome="timeout""#) ?? 0
            return now >= before + 5 && timeouts >= 1
        }
        let text = try #require(httpGet(port: web, path: "/metrics")?.body)
        #expect(metric(text, "labgate_modbus_transactions_total", #"device="INC-02""#, #"outcome="ok""#) == 0)
        #expect(metric(text, "labgate_polls_total", #"device="INC-02""#, #"outcome="failed""#) ?? 0 >= 1)
        #expect(metric(text, "labgate_modbus_transaction_duration_seconds_count", #"device="INC-01""#) ?? 0 >= 5)
        #expect(metric(text, "labgate_modbus_transaction_duration_seconds_bucket", #"device="INC-01""#, #"le="+Inf""#) ?? 0 >= 5)
        // The writer commits once a second: on a loaded machine its first commit can come after the polls counted.
        try await eventually("readings written to count up", timeout: .seconds(10)) {
            metric(httpGet(port: web, path: "/metrics")?.body ?? "", "labgate_store_readings_written_total") ?? 0 > 0
        }
        #expect(metric(text, "labgate_store_write_lag_seconds") ?? 99 < 10)
        #expect(metric(text, "labgate_device_up", #"device="INC-01""#) == 1)
        #expect(metric(text, "labgate_device_up", #"device="INC-02""#) == 0)
        #expect(metric(text, "labgate_deviations", #"device="INC-01""#, #"state="open""#) == 0)

        try await harness.control(["lot", "start", "LOT-HTTP-1", "--device", "INC-01", "--spec", "unmet"])
        try await eventually("the deviation in /metrics", timeout: .seconds(20)) {
            let text = httpGet(port: web, path: "/metrics")?.body ?? ""
            return metric(text, "labgate_deviations", #"device="INC-01""#, #"state="open""#) == 1
        }
        let reply = try #require(httpGet(port: web, path: "/status"))
        #expect(reply.status == 200 && reply.headers["content-type"] == "application/json")
        #expect(reply.headers["cache-control"] == "no-store")
        let status = try StatusSnapshot.decode(Data(reply.body.utf8))
        #expect(status.site == "e2e-http")
        let inc01 = try #require(status.devices.first { $0.id == "INC-01" })
        let inc02 = try #require(status.devices.first { $0.id == "INC-02" })
        #expect(inc01.state == .ok && inc01.condition == .outOfSpec)
        #expect(inc01.lots == [LotSpec(lot: "LOT-HTTP-1", spec: "unmet")])
        let co2 = try #require(inc01.channels.first { $0.channel == "co2" })
        #expect(co2.quality == .good && co2.unit == "%" && co2.inSpec == false && co2.limits?.low == 6)
        #expect([.failing, .backoff].contains(inc02.state) && inc02.condition == .fault)
        let deviation = try #require(status.deviations.first)
        #expect(deviation.state == .open && deviation.device == "INC-01" && deviation.channel == "co2")
        #expect(deviation.lots == ["LOT-HTTP-1"])
        #expect(inc01.deviations == [deviation.id])

        let page = try #require(httpGet(port: web, path: "/"))
        #expect(page.status == 200 && page.headers["content-type"] == "text/html; charset=utf-8")
        #expect(page.body.contains("<article class=\"tile out_of_spec\" id=\"device-INC-01\">"))
        #expect(page.body.contains("<article class=\"tile fault\" id=\"device-INC-02\">"))
        #expect(page.body.contains("<b>LOT-HTTP-1</b> (unmet)"))
        #expect(page.body.contains("<span class=\"id\">\(deviation.id)</span> <b>OPEN</b>"))
        let fragment = try #require(httpGet(port: web, path: "/fragment"))
        #expect(fragment.status == 200 && fragment.body.hasPrefix("<header>"))
        #expect(httpGet(port: web, path: "/nothing-here")?.status == 404)
        try await harness.stopDaemon()
        #expect(!canConnect(port: web), "the listener closes with the daemon")
    }

    @Test("without an http section the daemon listens on no TCP port")
    func noSection() async throws {
        let harness = try Harness(config: httpConfig(http: nil))
        try await harness.startSim()
        try harness.startDaemon(extra: [])
        try await harness.waitForSocket()
        try await eventually("a first poll", timeout: .seconds(20)) { try !harness.polls(device: "INC-01").isEmpty }
        let daemon = try #require(harness.daemon)
        #expect(listeningPorts(pid: daemon.process.processIdentifier).isEmpty)
        #expect(!daemon.stderr.contains("status page"))
        try await harness.stopDaemon()
    }

    @Test("a port in use stops the daemon at start with the address named")
    func portInUse() async throws {
        let web = freePort()
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = loopbackAddress(port: web)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        try #require(bound && listen(fd, 1) == 0)
        let harness = try Harness(config: httpConfig(http: web))
        try harness.startDaemon(extra: [])
        let daemon = try #require(harness.daemon)
        #expect(try await daemon.wait(timeout: .seconds(20)) == 1)
        #expect(daemon.stderr.contains("cannot start: HTTP listener cannot listen on 127.0.0.1:\(web): the address is in use"), "\(daemon.stderr)")
        #expect(!FileManager.default.fileExists(atPath: harness.storePath), "nothing was started")
    }
}
