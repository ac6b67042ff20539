import Foundation
import LabGate

extension LotReport {
    /// The whole report model as JSON (sorted keys, UTC times as text); the readings themselves
    /// are in the CSV.
    public func json() -> Data {
        let encoder = RecordJSON.encoder
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
        return ((try? encoder.encode(self)) ?? Data("null".utf8)) + Data("\n".utf8)
    }
}
