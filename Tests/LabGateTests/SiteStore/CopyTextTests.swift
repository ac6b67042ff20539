import Foundation
import Testing
@testable import SiteStore

/// The forwarder writes readings' values and times as COPY text itself (not through Swift's
/// descriptions or a date formatter): the site must read back exactly the value and the
/// millisecond the gateway stored.
@Suite("COPY text of values and times")
struct CopyTextTests {
    private func text(_ build: (inout CopyText) -> Void) -> String {
        var copy = CopyText()
        build(&copy)
        return String(decoding: copy.bytes, as: UTF8.self)
    }

    @Test("every double is written as text that reads back as the same double, short decimals as they are")
    func doublesReadBack() {
        var values: [Double] = [37.05, -0.5, 5, 95.12, 1e-7, 123456.789012, 0.1 + 0.2, 1.0 / 3, -0.0, 0, 1e300, -2.5e-300, 9_007_199_254_740_993]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            values.append(Double(Int.random(in: -100_000...100_000, using: &generator)) / 100)
            values.append(Double(bitPattern: UInt64.random(in: 0...UInt64.max, using: &generator)))
        }
        for value in values where value.isFinite {
            let written = text { $0.double(value) }
            #expect(Double(written)?.bitPattern == value.bitPattern, "\(value) written as \(written)")
        }
        #expect(text { $0.double(37.05) } == "37.05")
        #expect(text { $0.double(.nan) } == "NaN")
        #expect(text { $0.double(-.infinity) } == "-Infinity")
    }

    @Test("a time in milliseconds is written as the same UTC instant, before 1970 too")
    func timesAreExact() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        var generator = SystemRandomNumberGenerator()
        var times: [Int64] = [0, -1, 1_800_000_000_250, 951_782_400_000, -2_208_988_800_001, 253_402_300_799_999]
        for _ in 0..<5_000 { times.append(Int64.random(in: -2_000_000_000_000...4_000_000_000_000, using: &generator)) }
        for milliseconds in times {
            let written = text { $0.time(milliseconds: milliseconds) }
            let iso = written.replacingOccurrences(of: " ", with: "T").replacingOccurrences(of: "+00", with: "Z")
            let date = formatter.date(from: iso)
            #expect(date.map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) } == milliseconds, "\(milliseconds) written as \(written)")
        }
        #expect(text { $0.time(milliseconds: 1_800_000_000_250) } == "2027-01-15 08:00:00.250+00")
    }
}
