import LabGate
import Testing

@Suite("A lot's site-wide path across gateways")
struct SitePlacementTests {
    func event(_ id: Int64, _ action: LotEvent.Action, _ device: String?, at time: Int64, corrects: Int64? = nil, effective: Int64? = nil) -> LotEvent {
        LotEvent(id: id, lot: "L", action: action, device: device, spec: device == nil ? nil : "s", time: time, user: "u", corrects: corrects, effective: effective)
    }

    @Test("a corrected move time on the other gateway decides where the first placement ends")
    func correctedMove() {
        let path = SitePath.fold(
            [event(1, .start, "A1", at: 0), event(2, .end, nil, at: 500)].map { SiteLotEvent(gateway: "gw-a", event: $0) } +
            [event(1, .move, "B1", at: 300), event(2, .correct, nil, at: 400, corrects: 1, effective: 200)].map { SiteLotEvent(gateway: "gw-b", event: $0) })
        #expect(path.map(\.gateway) == ["gw-a", "gw-b"])
        #expect(path.map(\.placement.start) == [0, 200])
        #expect(path.map(\.placement.end) == [200, nil])
        #expect(path[0].endedByGateway == "gw-b")
    }

    @Test("an end recorded on a gateway that had not yet heard of the lot's move ends only its own placement, not the other gateway's")
    func endBeforeHearing() {
        let path = SitePath.fold(
            [event(1, .start, "A1", at: 0), event(2, .end, nil, at: 500)].map { SiteLotEvent(gateway: "gw-a", event: $0) } +
            [event(1, .move, "B1", at: 300)].map { SiteLotEvent(gateway: "gw-b", event: $0) })
        #expect(path.map(\.placement.end) == [300, nil])
    }

    @Test("a placement that ended before the lot was placed elsewhere keeps its own end")
    func ownEnd() {
        let path = SitePath.fold(
            [event(1, .start, "A1", at: 0), event(2, .end, nil, at: 100)].map { SiteLotEvent(gateway: "gw-a", event: $0) } +
            [event(1, .start, "B1", at: 300)].map { SiteLotEvent(gateway: "gw-b", event: $0) })
        #expect(path.map(\.placement.end) == [100, nil])
        #expect(path[0].endedByGateway == nil)
    }
}
