import Foundation
import TestSupport
import Testing
@testable import LabGate
@testable import LabGateClient

private let began = AlertEvent(
    time: Date(timeIntervalSince1970: 1_800_000_100), severity: .warning, event: .excursionBegan, device: "INC-02",
    channel: "co2", value: 4.31, unit: "%", limit: .init(name: "low", value: 4.5, source: "spec msc-culture"),
    since: Date(timeIntervalSince1970: 1_800_000_040.5), worst: 4.2)

@Test("alerts.log reads well to a person: time, severity, event, device, channel, value vs limit, since")
func textLine() {
    #expect(AlertFormatter.line(began) ==
        "2027-01-15T08:01:40.000Z WARNING  excursion_began     INC-02 co2 4.31 % below low 4.50 % (spec msc-culture) since 2027-01-15T08:00:40.500Z worst 4.20 %")
    var recovered = began
    recovered.event = .excursionRecovered
    recovered.severity = .info
    recovered.time = began.time.addingTimeInterval(120)
    #expect(AlertFormatter.line(recovered).contains("back within low 4.50 % (spec msc-culture) since 2027-01-15T08:00:40.500Z lasted 2m59s500ms"))
}

@Test("alerts.jsonl carries the same event and reads back to it")
func jsonRoundTrip() throws {
    let json = AlertFormatter.json(began)
    #expect(!json.contains("\n"))
    #expect(json.contains(#""since":"2027-01-15T08:00:40.500Z""#))
    #expect(try AlertFormatter.decode(json: json) == began)
}

@Test("each event is one whole line in each file")
func appendsLines() throws {
    let folder = try TemporaryFolder()
    let log = try AlertLog(folder: folder.path)
    for _ in 0..<3 { try log.write(began) }
    let text = try String(contentsOfFile: log.textPath, encoding: .utf8)
    #expect(text == String(repeating: AlertFormatter.line(began) + "\n", count: 3))
    let entries = try AlertLogReader(path: log.jsonPath).readAll()
    #expect(entries.count == 3)
    guard case let .event(event) = entries.first else { Issue.record("not an event"); return }
    #expect(event == began)
}

@Test("following the log shows new events, a broken line as such, and survives rotation")
func followsRotation() async throws {
    let folder = try TemporaryFolder()
    let log = try AlertLog(folder: folder.path)
    try log.write(began)
    let reader = AlertLogReader(path: log.jsonPath)
    let seen = Seen()
    let follower = Task { try await reader.follow(pollEvery: .milliseconds(20)) { seen.add($0) } }
    try await Task.sleep(for: .milliseconds(100))
    var second = began
    second.device = "INC-03"
    try log.write(second)
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log.jsonPath))
    try handle.seekToEnd()
    try handle.write(contentsOf: Data("not json\n".utf8))
    try handle.close()
    try await Task.sleep(for: .milliseconds(100))
    try FileManager.default.moveItem(atPath: log.jsonPath, toPath: log.jsonPath + ".1")
    var third = began
    third.device = "INC-04"
    try log.write(third)
    try await eventually("three lines followed") { seen.count >= 3 }
    follower.cancel()
    #expect(seen.lines == ["INC-03", "line 3: not json", "INC-04"])
}

private final class Seen: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String] = []

    func add(_ entry: AlertLogReader.Entry) {
        lock.withLock {
            switch entry {
            case let .event(event): entries.append(event.device)
            case let .unreadable(line, text): entries.append("line \(line): \(text)")
            }
        }
    }

    var count: Int { lock.withLock { entries.count } }
    var lines: [String] { lock.withLock { entries } }
}

@Test("UTC times print to the millisecond they hold, and read back to it")
func utcTimes() throws {
    for ms: Int64 in [1_764_017_376_622, 1_764_017_376_000, 1_764_017_376_999, 1_764_017_376_001] {
        let date = Date(timeIntervalSince1970: Double(ms) / 1000)
        let text = UTCTime.format(date)
        #expect(text.hasSuffix(String(format: ".%03dZ", Int(ms % 1000))), "\(text)")
        let back = try #require(UTCTime.parse(text))
        #expect(UTCTime.format(back) == text)
    }
    #expect(UTCTime.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
    #expect(UTCTime.format(Date(timeIntervalSince1970: -0.25)) == "1969-12-31T23:59:59.750Z")
}

@Test("UTC times computed from the day count agree with Foundation's ISO 8601 style, leap days and all")
func utcTimesAgreeWithFoundation() {
    let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)
    var generator = SystemRandomNumberGenerator()
    // 1900–2200: leap centuries (2000) and not (1900, 2100), month ends, before and after 1970.
    var samples: [Int64] = [
        -2_208_988_800_000, 951_782_400_000, 951_868_799_999, 4_107_542_400_000, 4_107_455_999_999,
        1_767_225_599_999, 1_767_225_600_000, -1, 0, 86_399_999,
    ]
    samples += (0..<20_000).map { _ in Int64.random(in: -2_208_988_800_000...7_258_118_400_000, using: &generator) }
    for ms in samples {
        let seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000
        let reference = style.format(Date(timeIntervalSince1970: Double(seconds)))  // whole seconds: exact
        let expected = reference.dropLast(5) + String(format: ".%03dZ", Int(ms - seconds * 1000))
        #expect(UTCTime.format(milliseconds: ms) == expected, "\(ms)")
    }
}

@Test("rotating alerts.log while events are written loses no line and splits none")
func rotationLosesNothing() async throws {
    let folder = try TemporaryFolder()
    let log = try AlertLog(folder: folder.path)
    let rotations = Counter()
    // Writes until the log has been rotated 20 times, so rotation always happens mid-stream.
    let writer = Task.detached { () throws -> Int in
        var written = 0
        while rotations.value < 20 {
            var event = began
            event.device = "DEV-\(written)"
            try log.write(event)
            written += 1
        }
        return written
    }
    // logrotate without copytruncate: rename, and the next event creates a new file.
    var rotated: [String] = []
    while rotated.count < 20 {
        try await Task.sleep(for: .milliseconds(2))
        let target = log.textPath + ".\(rotated.count + 1)"
        if (try? FileManager.default.moveItem(atPath: log.textPath, toPath: target)) != nil {
            rotated.append(target)
            rotations.increment()
        }
    }
    let count = try await writer.value
    var lines: [Substring] = []
    for path in rotated + [log.textPath] where FileManager.default.fileExists(atPath: path) {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.isEmpty || text.hasSuffix("\n"), "\(path) ends with a whole line")
        lines += text.split(separator: "\n")
    }
    #expect(lines.count == count)
    let devices = Set(lines.compactMap { $0.split(separator: " ").dropFirst(3).first.map(String.init) })
    #expect(devices == Set((0..<count).map { "DEV-\($0)" }))
    #expect(lines.allSatisfy { $0.hasSuffix("worst 4.20 %") })
}

private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func increment() { lock.withLock { count += 1 } }
}
