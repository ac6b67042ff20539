import Foundation
import LabGate

/// The signatures shown with what they are on (`lot show`, `deviations show`, `alarms list`),
/// read from the store's signature table.
extension ControlHandlers {
    func signed(_ view: ControlAPI.LotView) async throws -> ControlAPI.LotView {
        var view = view
        let lot = view.lot
        let (signatures, approval) = try await store.pool.read { db in
            (try Signature.ofLot(lot, db: db), try LotApproval.of(lot: lot, db: db))
        }
        view.signatures = signatures.map(ControlAPI.SignatureView.init)
        view.approval = ControlAPI.ApprovalView(approval)
        return view
    }

    func signed(_ view: ControlAPI.DeviationView) async throws -> ControlAPI.DeviationView {
        var view = view
        let id = view.id
        view.signatures = try await store.pool.read { db in try Signature.on(.deviation, [id], db: db) }
            .map(ControlAPI.SignatureView.init)
        return view
    }

    func signed(_ views: [ControlAPI.AlarmView]) async throws -> [ControlAPI.AlarmView] {
        let ids = views.map(\.id)
        let signatures = try await store.pool.read { db in try Signature.on(.alarm, ids, db: db) }
        let byAlarm = Dictionary(grouping: signatures, by: \.subject)
        return views.map { view in
            var view = view
            view.signatures = (byAlarm[view.id] ?? []).map(ControlAPI.SignatureView.init)
            return view
        }
    }
}
