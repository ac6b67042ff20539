import Foundation
import LabGate

/// An audit entry as a sentence a reviewer reads ("alice acknowledged DEV-2026-0007: door left
/// open during feeding"), from its action and the values it recorded; an action it does not know
/// reads as its words ("bob lot list lot X"). Plain text: the HTML escapes it.
public enum AuditSentence {
    public static func text(_ entry: AuditEntry) -> String {
        let user = entry.user
        let reason = entry.reason.flatMap { $0.isEmpty ? nil : $0 }
        let subject = entry.object.split(separator: " ", maxSplits: 1).last.map(String.init) ?? entry.object
        func because(_ text: String) -> String { reason.map { text + ": " + $0 } ?? text }
        func time(_ ms: Int64) -> String { UTCTime.format(milliseconds: ms) }
        switch entry.action {
        case "lot_start", "lot_move", "lot_end", "lot_correct", "lot_left", "lot_void":
            guard let event = decode(LotEvent.self, entry.new) else { break }
            switch event.action {
            case .start:
                return because("\(user) placed \(event.lot) in \(event.device ?? "?") with spec \(event.spec ?? "?")")
            case .move:
                return because("\(user) moved \(event.lot) to \(event.device ?? "?") with spec \(event.spec ?? "?")")
            case .end:
                return because("\(user) took \(event.lot) out of monitoring")
            case .left:
                return because("\(event.lot) left this gateway at \(event.effective.map(time) ?? "?")")
            case .void:
                return because("\(user) voided action #\(event.corrects.map(String.init) ?? "?") of \(event.lot)")
            case .correct:
                var what: [String] = []
                if let device = event.device { what.append("device \(device)") }
                if let spec = event.spec { what.append("spec \(spec)") }
                if let effective = event.effective { what.append("took effect \(time(effective))") }
                let corrected = what.isEmpty ? "" : " (" + what.joined(separator: ", ") + ")"
                return because("\(user) corrected action #\(event.corrects.map(String.init) ?? "?") of \(event.lot)\(corrected)")
            }
        case "deviation_opened":
            guard let d = decode(DeviationRecord.self, entry.new) else { break }
            let limit = "\(d.limit.name.replacingOccurrences(of: "_", with: " ")) \(number(d.limit.value))"
            let kind = d.kind == .excursion ? "\(d.critical ? "critical " : "")excursion" : d.kind.rawValue.replacingOccurrences(of: "_", with: " ")
            return "\(d.id) opened: \(kind) on \(d.device) \(d.channel) (\(limit)\(d.unit.map { " " + $0 } ?? "")), lots \(d.lots.joined(separator: ", "))"
        case "deviation_lots_added":
            guard let d = decode(DeviationRecord.self, entry.new) else { break }
            let before = decode(DeviationRecord.self, entry.old)?.lots ?? []
            return "\(d.id) now also names \(d.lots.filter { !before.contains($0) }.joined(separator: ", "))"
        case "deviation_recovered":
            guard let d = decode(DeviationRecord.self, entry.new) else { break }
            let worst = d.worst.map { ", worst \(number($0))\(d.unit.map { " " + $0 } ?? "")" } ?? ""
            return "\(d.id) recovered at \(d.end.map(time) ?? "?")\(worst)"
        case "deviation_acknowledged":
            return because("\(user) acknowledged \(subject)")
        case "deviation_closed":
            return because("\(user) closed \(subject)")
        case "deviation_change_refused":
            return because("a change to \(subject) was refused")
        case DefinitionRecord.seriesAction:
            guard let field = decode(SeriesDescription.self, entry.new) else { break }
            return "the field of \(field.device) \(field.channel) was recorded: \(field.profile) \(field.summary)" + (reason.map { " (\($0))" } ?? "")
        case DefinitionRecord.specAction:
            return "spec \(subject) was recorded" + (reason.map { " (\($0))" } ?? "")
        case "signed":
            guard let signed = decode(Signed.self, entry.new) else { break }
            let name = signed.fullName.isEmpty || signed.fullName == signed.user ? signed.user : "\(signed.fullName) (\(signed.user))"
            return "\(name) signed \(signed.subject): \(signed.meaning)"
        case "signature_failed", "signing_locked":
            return because("a signature by \(user) on \(subject) was refused")
        case LotApproval.auditAction:
            guard let covered = decode(LotApproval.Covered.self, entry.new) else { break }
            return "\(user) approved \(subject) for batch release: its record through \(time(covered.through)), SHA-256 \(covered.sha256.prefix(16))…"
        case "refused":
            return because("\(user) was refused")
        default:
            break
        }
        return because("\(user) \(entry.action.replacingOccurrences(of: "_", with: " ")) \(entry.object)")
    }

    /// The fields of a `signed` entry a sentence needs.
    private struct Signed: Decodable {
        var user: String
        var fullName: String
        var meaning: String
        var subject: String

        enum CodingKeys: String, CodingKey {
            case user, fullName = "full_name", meaning, subject
        }
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ json: String?) -> T? {
        guard let json else { return nil }
        return try? JSONDecoder().decode(type, from: Data(json.utf8))
    }

    private static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%.2f", value)
    }
}
