import Foundation
import Testing
@testable import LabGate

/// The lot and deviation books refuse in their own words; what those mean in HTTP is the control
/// socket's business (ControlServerTests checks the statuses).
@Suite struct LotBookErrorTests {
    @Test("the lot book refuses a reused lot id, an unknown device and an ended lot with lot errors naming them")
    func lotRefusals() async throws {
        let folder = try TemporaryFolder()
        let store = try ReadingStore(path: folder.path + "/store.sqlite")
        let book = LotBook(store: store, registry: LotRegistry(), config: incubatorConfig(folder: folder.path))
        _ = try await book.start(lot: "LOT-1", device: "INC-01", spec: "msc-culture", note: nil, user: "alice")
        await #expect(throws: LotError.alreadyExists(lot: "LOT-1", state: "in INC-01")) {
            try await book.start(lot: "LOT-1", device: "INC-01", spec: "msc-culture", note: nil, user: "alice")
        }
        await #expect(throws: LotError.unknownDevice("INC-09", known: ["INC-01"])) {
            try await book.move(lot: "LOT-1", device: "INC-09", spec: nil, note: nil, user: "alice")
        }
        _ = try await book.end(lot: "LOT-1", note: nil, user: "alice")
        await #expect(throws: LotError.alreadyEnded(lot: "LOT-1")) {
            try await book.end(lot: "LOT-1", note: nil, user: "alice")
        }
        await #expect(throws: LotError.invalidLotID("LOT 2")) {
            try await book.start(lot: "LOT 2", device: "INC-01", spec: "msc-culture", note: nil, user: "alice")
        }
    }

    @Test("the deviation book refuses to close what nobody acknowledged and to act on an unknown id")
    func deviationRefusals() async throws {
        let folder = try TemporaryFolder()
        let store = try ReadingStore(path: folder.path + "/store.sqlite")
        let deviations = DeviationBook(store: store, daemonUser: "labgate")
        let record = DeviationRecord(
            id: "DEV-2027-0001", kind: .excursion, device: "INC-01", channel: "co2", unit: "%",
            limit: .init(name: "low", value: 4.5, source: "spec msc-culture"), start: 1_800_000_006_000,
            opened: 1_800_000_016_000, valueAtOpening: 4.3, critical: false, end: 1_800_000_026_000, worst: 4.3,
            size: nil, lots: ["LOT-1"])
        try await deviations.commit([.opened(record)], state: "[]")
        await #expect(throws: DeviationError.notAcknowledged(id: "DEV-2027-0001")) {
            try await deviations.close("DEV-2027-0001", user: "qa", impact: "none")
        }
        await #expect(throws: DeviationError.unknownDeviation("DEV-2027-0099")) {
            try await deviations.acknowledge("DEV-2027-0099", user: "alice", comment: "seen")
        }
    }
}
