import Foundation
import GRDB
import Testing
@testable import LabGate

/// Lots across gateways, as the domain decides them from what the site store said (SiteLotView);
/// the end-to-end tests (LotsAcrossGatewaysEndToEndTests) run the same with real gateways and a
/// real PostgreSQL.
@Suite struct SiteLotsTests {
    /// A gateway's book: its own store and registry, its config's one device renamed `device`.
    struct Gateway {
        let id: String
        let store: ReadingStore
        let registry = LotRegistry()
        let site: SiteLotView
        let book: LotBook

        init(_ id: String, device: String, folder: TemporaryFolder, freshness: Duration = .seconds(15)) throws {
            self.id = id
            var config = incubatorConfig(folder: folder.path)
            config.devices[0].id = device
            store = try ReadingStore(path: folder.path + "/\(id).sqlite")
            site = SiteLotView(gateway: id, store: "postgres://db.site.example/labgate", freshness: freshness)
            book = LotBook(store: store, registry: registry, config: config, site: site)
        }

        /// What the site holds of this gateway, as another gateway reads it.
        var asSite: [SiteLotEvent] {
            registry.lots.flatMap { lot in registry.events(of: lot).map { SiteLotEvent(gateway: id, event: $0) } }
        }

        func audit(_ action: String) throws -> [Row] {
            try store.pool.read { db in try Row.fetchAll(db, sql: "SELECT old, new, reason FROM audit WHERE action = ?", arguments: [action]) }
        }
    }

    @Test("at site level a placement ends when the lot's next placement starts on any gateway, before the first gateway has heard")
    func sitePathEndsAtTheNextPlacement() {
        let a = SiteLotEvent(gateway: "gw-a", event: LotEvent(id: 1, lot: "L", action: .start, device: "INC-01", spec: "s", time: 1_000, user: "alice"))
        let b = SiteLotEvent(gateway: "gw-b", event: LotEvent(id: 7, lot: "L", action: .move, device: "FRZ-B1", spec: "s", time: 5_000, user: "bob"))
        let path = SitePath.fold([b, a])
        #expect(path.map(\.gateway) == ["gw-a", "gw-b"])
        #expect(path[0].placement.end == 5_000 && path[0].endedByGateway == "gw-b")
        #expect(path[1].placement.end == nil)
        // A's `left` echoes B's move and takes no part; B's move voided gives A its placement back.
        let left = SiteLotEvent(gateway: "gw-a", event: LotEvent(id: 2, lot: "L", action: .left, device: nil, spec: nil, time: 9_000, user: "labgate", effective: 5_000))
        #expect(SitePath.fold([a, left, b]).map(\.placement.end) == [5_000, nil])
        let void = SiteLotEvent(gateway: "gw-b", event: LotEvent(id: 8, lot: "L", action: .void, device: nil, spec: nil, time: 9_500, user: "bob", corrects: 7))
        let restored = SitePath.fold([a, left, b, void])
        #expect(restored.count == 1 && restored[0].gateway == "gw-a" && restored[0].placement.end == nil)
    }

    @Test("a lot another gateway holds is moved in from the site's record: its spec, the gateway it came from in the note and the audit, tagged at once")
    func moveInFromTheSite() async throws {
        let folder = try TemporaryFolder()
        let a = try Gateway("gw-a", device: "INC-01", folder: folder)
        let b = try Gateway("gw-b", device: "INC-B1", folder: folder)
        _ = try await a.book.start(lot: "LOT-1", device: "INC-01", spec: "msc-culture", note: nil, user: "alice")
        b.site.heard(a.asSite)
        let event = try await b.book.move(lot: "LOT-1", device: "INC-B1", spec: nil, note: "to cryo", user: "bob")
        #expect(event.action == .move && event.spec == "msc-culture")
        #expect(event.note?.hasPrefix("from gateway gw-a (INC-01, spec msc-culture, since ") == true)
        #expect(event.note?.hasSuffix("; to cryo") == true)
        #expect(b.registry.inside(device: "INC-B1") == [LotSpec(lot: "LOT-1", spec: "msc-culture")])
        let audit = try b.audit("lot_move")
        #expect((audit.first?["old"] as String?)?.contains("\"gateway\":\"gw-a\"") == true, "\(audit)")
    }

    @Test("a lot unknown here while the site store cannot be read: refused naming the site store and --spec; with --spec it is taken in")
    func siteUnreachable() async throws {
        let folder = try TemporaryFolder()
        let b = try Gateway("gw-b", device: "INC-B1", folder: folder)
        b.site.failed("connection refused")
        do {
            _ = try await b.book.move(lot: "LOT-9", device: "INC-B1", spec: nil, note: nil, user: "bob")
            Issue.record("moved without the site's record")
        } catch let error as LotError {
            guard case .siteUnreachable = error else { Issue.record("\(error)"); return }
            #expect(error.description.contains("postgres://db.site.example/labgate") && error.description.contains("--spec SPEC"))
            #expect(error.description.contains("connection refused"))
        }
        let event = try await b.book.move(lot: "LOT-9", device: "INC-B1", spec: "msc-culture", note: nil, user: "bob")
        #expect(event.note?.contains("taken in without the site's record") == true)
        #expect(b.registry.inside(device: "INC-B1").map(\.lot) == ["LOT-9"])
        // Read recently, the site's silence means there is no such lot.
        b.site.heard([])
        await #expect(throws: LotError.self) {
            try await b.book.move(lot: "LOT-8", device: "INC-B1", spec: "msc-culture", note: nil, user: "bob")
        }
    }

    @Test("a gateway that hears of a later placement elsewhere ends its own at that start time, audited naming the taker; voided there, it is restored")
    func followTheSite() async throws {
        let folder = try TemporaryFolder()
        let a = try Gateway("gw-a", device: "INC-01", folder: folder)
        let b = try Gateway("gw-b", device: "INC-B1", folder: folder)
        _ = try await a.book.start(lot: "LOT-1", device: "INC-01", spec: "msc-culture", note: nil, user: "alice")
        b.site.heard(a.asSite)
        let moved = try await b.book.move(lot: "LOT-1", device: "INC-B1", spec: nil, note: nil, user: "bob")
        // Before A hears, it still tags: tagging never waits on the site.
        #expect(a.registry.inside(device: "INC-01").map(\.lot) == ["LOT-1"])
        a.site.heard(b.asSite)
        let followed = await a.book.followSite(user: "labgate")
        #expect(followed.map(\.event.action) == [.left])
        let left = try #require(followed.first?.event)
        #expect(left.effective == moved.time, "ends at B's start, not when A heard")
        #expect(left.note?.contains("taken by gateway gw-b") == true)
        #expect(a.registry.inside(device: "INC-01").isEmpty)
        #expect(a.registry.placements(of: "LOT-1").first?.end == moved.time)
        #expect(ControlAPI.LotView(lot: "LOT-1", events: a.registry.events(of: "LOT-1")).state == "left")
        let audit = try a.audit("lot_left")
        #expect((audit.first?["reason"] as String?)?.contains("gw-b") == true)
        await #expect(throws: LotError.self) { try await a.book.end(lot: "LOT-1", note: nil, user: "alice") }
        // Heard again: nothing more to do.
        a.site.markPending(["LOT-1"])
        #expect(await a.book.followSite(user: "labgate").isEmpty)
        // B's move was for the wrong lot: voided there, A's placement comes back (an audited void of its `left`).
        _ = try await b.book.correct(
            lot: "LOT-1", event: moved.id, device: nil, spec: nil, at: nil, reason: "wrong lot scanned", user: "bob", void: true)
        #expect(b.registry.inside(device: "INC-B1").isEmpty)
        a.site.heard(b.asSite)
        #expect(await a.book.followSite(user: "labgate").map(\.event.action) == [.void])
        #expect(a.registry.inside(device: "INC-01").map(\.lot) == ["LOT-1"])
        #expect(a.registry.placements(of: "LOT-1").count == 1 && a.registry.placements(of: "LOT-1")[0].end == nil)
    }

    @Test("both gateways act on the same lot at once: the later start wins; the other ends its placement when it hears")
    func bothAtOnce() async throws {
        let folder = try TemporaryFolder()
        var configA = incubatorConfig(folder: folder.path)
        configA.devices.append(configA.devices[0])
        configA.devices[1].id = "INC-03"
        configA.devices[1].unit = 3
        let a = try Gateway("gw-a", device: "INC-01", folder: folder)
        let bookA = LotBook(store: a.store, registry: a.registry, config: configA, site: a.site)
        let b = try Gateway("gw-b", device: "INC-B1", folder: folder)
        _ = try await bookA.start(lot: "LOT-1", device: "INC-01", spec: "msc-culture", note: nil, user: "alice")
        b.site.heard(a.asSite)
        let taken = try await b.book.move(lot: "LOT-1", device: "INC-B1", spec: nil, note: nil, user: "bob")
        try await Task.sleep(for: .milliseconds(5))
        // A has not heard yet and moves the lot to its own INC-03, later.
        let mine = try await bookA.move(lot: "LOT-1", device: "INC-03", spec: nil, note: nil, user: "alice")
        #expect(mine.time > taken.time)
        a.site.heard(b.asSite)
        #expect(await bookA.followSite(user: "labgate").isEmpty, "A's move is the later one: A keeps the lot")
        b.site.heard(a.asSite)
        let followed = await b.book.followSite(user: "labgate")
        #expect(followed.map(\.event.action) == [.left] && followed.first?.event.effective == mine.time)
        #expect(b.registry.inside(device: "INC-B1").isEmpty)
        let path = SitePath.fold(a.asSite + b.asSite)
        #expect(path.map(\.placement.device) == ["INC-01", "INC-B1", "INC-03"])
        #expect(path.last?.placement.end == nil)
    }

    @Test("the other gateway's move corrected to another time: the end here follows it, by an audited correction of its left")
    func followACorrectedTime() async throws {
        let folder = try TemporaryFolder()
        let a = try Gateway("gw-a", device: "INC-01", folder: folder)
        let b = try Gateway("gw-b", device: "INC-B1", folder: folder)
        _ = try await a.book.start(lot: "LOT-1", device: "INC-01", spec: "msc-culture", note: nil, user: "alice")
        try await Task.sleep(for: .milliseconds(50))
        b.site.heard(a.asSite)
        let moved = try await b.book.move(lot: "LOT-1", device: "INC-B1", spec: nil, note: nil, user: "bob")
        a.site.heard(b.asSite)
        #expect(await a.book.followSite(user: "labgate").map(\.event.action) == [.left])
        let really = moved.time - 20
        _ = try await b.book.correct(
            lot: "LOT-1", event: moved.id, device: nil, spec: nil, at: Date(millisecondsSince1970: really), reason: "moved earlier",
            user: "bob")
        a.site.heard(b.asSite)
        let followed = await a.book.followSite(user: "labgate")
        #expect(followed.map(\.event.action) == [.correct] && followed.first?.event.effective == really)
        #expect(a.registry.placements(of: "LOT-1").first?.end == really)
        #expect(SitePath.fold(a.asSite + b.asSite).first?.placement.end == really)
    }
}
