import LabGate
import Testing

@Suite("A lot's site-wide path across gateways")
struct SitePlacementTests {
    func event(_ id: Int64, _ action: LotEvent.Action, _ device: String?, at time: Int64, corrects: Int64? = nil, effective: Int64? = nil) -> LotEvent {
        LotEvent(id: id, lot: "L", action: action, device: device, spec: device == nil ? nil : "s", time: time, user: "u", corrects: corrects, effective: effective)
    }

    @Test("a corrected move time on the other gateway decides where the first placement ends")
    func correctedMove() {
        let path = SitePlacement.path([
            (gateway: "gw-a", events: [event(1, .start, "A1", at: 0), event(2, .end, nil, at: 500)]),
            (gateway: "gw-b", events: [event(1, .move, "B1", at: 300), event(2, .correct, nil, at: 400, corrects: 1, effective: 200)]),
        ])
        #expect(path.map(\.gateway) == ["gw-a", "gw-b"])
        #expect(path.map(\.placement.start) == [0, 200])
        #expect(path.map(\.placement.end) == [200, nil])
        #expect(path[0].endedByGateway == "gw-b")
    }

    @Test("a placement that ended before the lot was placed elsewhere keeps its own end")
    func ownEnd() {
        let path = SitePlacement.path([
            (gateway: "gw-a", events: [event(1, .start, "A1", at: 0), event(2, .end, nil, at: 100)]),
            (gateway: "gw-b", events: [event(1, .start, "B1", at: 300)]),
        ])
        #expect(path.map(\.placement.end) == [100, nil])
        #expect(path[0].endedByGateway == nil)
    }
}
