import Foundation
import Glibc
import Logging
import Synchronization
import TestSupport
import Testing
@testable import LabGate
@testable import LabGateClient
@testable import LabGateDaemon

/// One HTTP request written as raw bytes to a Unix socket, the reply read to its end (the
/// request says `Connection: close`, or the server closes after a refusal).
func rawRequest(_ path: String, _ head: String, body: [UInt8] = []) throws -> (status: Int, text: String) {
    let fd = try connectUnix(path)
    defer { close(fd) }
    let bytes = Array(head.utf8) + body
    var offset = 0
    while offset < bytes.count {
        let sent = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if sent <= 0 { break }  // the server closed: read what it said
        offset += sent
    }
    var reply: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = recv(fd, &buffer, buffer.count, 0)
        if n <= 0 { break }
        reply += buffer[0..<n]
    }
    let text = String(decoding: reply, as: UTF8.self)
    let status = text.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) } ?? 0
    return (status, text)
}

func connectUnix(_ path: String) throws -> Int32 {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard let address = UnixSocketAddress(path: path) else { throw POSIXError(.ENAMETOOLONG) }
    let status = address.withSockAddr { connect(fd, $0, $1) }
    guard status == 0 else {
        close(fd)
        throw POSIXError(.ECONNREFUSED)
    }
    return fd
}

/// Whether the server has closed `fd` (waits up to `timeout`).
func closedByPeer(_ fd: Int32, within timeout: Duration) -> Bool {
    var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    let ms = Int32(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
    guard poll(&poller, 1, ms) == 1 else { return false }
    var byte: UInt8 = 0
    return recv(fd, &byte, 1, Int32(MSG_DONTWAIT)) == 0
}

/// A resolver as slow as an LDAP server that does not answer: every lookup blocks its thread.
private struct StalledResolver: IdentityResolver {
    let delay: UInt32
    func identify(uid: UInt32, gid: UInt32) -> Peer {
        usleep(delay)
        return Peer(uid: uid, user: "alice", groups: ["lab-ops"])
    }
}

@Suite("control socket against other local users", .serialized)
struct ControlLimitsTests {
    @Test("a user without a role is refused from the headers: a 2 MiB body is neither read nor stored, only its size is audited")
    func refusedBeforeTheBody() async throws {
        let server = try await RunningServer()
        server.identity.set("mallory", ["users"])
        let path = server.folder.path + "/control.sock"
        let big = [UInt8](repeating: UInt8(ascii: "x"), count: 2 * 1024 * 1024)
        let reply = try rawRequest(path, "POST /lots HTTP/1.1\r\nHost: labgate\r\nContent-Length: \(big.count)\r\n\r\n", body: big)
        #expect(reply.status == 403, "refused by role, not by size: \(reply.text.prefix(200))")
        #expect(reply.text.lowercased().contains("connection: close"))
        // A small body is hashed as it is read, never kept.
        let small = Array(#"{"lot":"EVIL\nLINE","device":"INC-01","spec":"msc-culture"}"#.utf8)
        let second = try rawRequest(path, "POST /lots/L1/end HTTP/1.1\r\nHost: labgate\r\nContent-Length: \(small.count)\r\n\r\n", body: small)
        #expect(second.status == 403)
        await server.stop()

        let entries = try AuditTrail.list(in: server.store)
        #expect(entries.map(\.action) == ["refused", "refused"], "the first at once, the second counted and written at stop")
        let first = try AuditJSON.decode(RefusalLedger.Summary.self, try #require(entries[0].new))
        #expect(first.uid == 1000 && first.user == "mallory" && first.count == 1)
        #expect(first.routes == ["POST /lots": 1])
        #expect(first.bodies == [.init(sha256: BytesDigest().hex(), bytes: 0, truncated: true, declared: 2 * 1024 * 1024)])
        let rest = try AuditJSON.decode(RefusalLedger.Summary.self, try #require(entries[1].new))
        var digest = BytesDigest()
        small.withUnsafeBytes { digest.update($0) }
        #expect(rest.bodies == [.init(sha256: digest.hex(), bytes: small.count, truncated: false, declared: small.count)])
        #expect(!entries.contains { ($0.new ?? "").contains("EVIL") || ($0.new ?? "").contains("xxxx") }, "never the body")
    }

    @Test("refusals from one uid are coalesced: 200 requests give one entry at once and one with the count when the window ends")
    func coalesced() async throws {
        // The window is wide enough that 200 refusals fit in it on a loaded machine.
        let server = try await RunningServer(refusalWindow: .seconds(5))
        server.identity.set("mallory", ["users"])
        for _ in 0..<200 {
            #expect(try await server.client.post("/lots", ControlAPI.StartLot(lot: "L1", device: "INC-01", spec: "msc-culture", note: nil)).status == 403)
        }
        #expect(try AuditTrail.list(in: server.store).count == 1)
        try await eventually("the window's count audited", timeout: .seconds(15)) { try AuditTrail.list(in: server.store).count == 2 }
        try await Task.sleep(for: .milliseconds(5500))
        #expect(try AuditTrail.list(in: server.store).count == 2, "a quiet uid's window closes without an entry")
        await server.stop()
        let entries = try AuditTrail.list(in: server.store)
        let counts = try entries.map { try AuditJSON.decode(RefusalLedger.Summary.self, $0.new ?? "").count }
        #expect(counts == [1, 199])
        #expect(entries.allSatisfy { ($0.new?.utf8.count ?? 0) + ($0.reason?.utf8.count ?? 0) < 1024 })
    }

    @Test("an operator's body over 64 KiB gets 413; ids with control characters get 400 with the text escaped")
    func bodiesAndIDs() async throws {
        let server = try await RunningServer()
        let path = server.folder.path + "/control.sock"
        let note = String(repeating: "n", count: 70 * 1024)
        let json = Array(#"{"lot":"L1","device":"INC-01","spec":"msc-culture","note":"\#(note)"}"#.utf8)
        let big = try rawRequest(path, "POST /lots HTTP/1.1\r\nHost: labgate\r\nContent-Length: \(json.count)\r\n\r\n", body: json)
        #expect(big.status == 413, "\(big.text.prefix(300))")
        let chunked = try rawRequest(
            path, "POST /lots HTTP/1.1\r\nHost: labgate\r\nTransfer-Encoding: chunked\r\n\r\n\(String(json.count, radix: 16))\r\n",
            body: json + Array("\r\n0\r\n\r\n".utf8))
        #expect(chunked.status == 413, "without Content-Length too")

        let forged = try await server.client.post(
            "/lots", ControlAPI.StartLot(lot: "L1\n2026-11-24T20:31:05.123Z INFO deviation_closed", device: "INC-01", spec: "msc-culture", note: nil))
        #expect(forged.status == 400)
        #expect(forged.message.contains(#"'L1\n2026-11-24T20:31:05.123Z INFO deviation_closed' is not a lot id"#), "\(forged.message)")
        let device = try await server.client.post("/lots", ControlAPI.StartLot(lot: "L1", device: "INC-01\u{1B}[2J", spec: "msc-culture", note: nil))
        #expect(device.status == 404)
        #expect(device.message.hasPrefix(#"no device 'INC-01\e[2J'"#), "\(device.message)")
        #expect(try await server.client.get("/deviations/DEV-2026-0001%0Aforged").status == 400)
        #expect(try AuditTrail.list(in: server.store).isEmpty, "nothing invalid reached the trail")
        #expect(try await server.client.post("/lots", ControlAPI.StartLot(lot: "L1", device: "INC-01", spec: "msc-culture", note: nil)).status == 200)
        await server.stop()
    }

    @Test("idle connections close after the idle timeout; one uid holds at most its cap, and gets more once it closes one")
    func idleAndPerUser() async throws {
        // The idle timeout leaves room for a loaded machine between the checks that come before it.
        let server = try await RunningServer(limits: ConnectionLimits(idleTimeout: .seconds(6), perUser: 4, total: 64))
        let path = server.folder.path + "/control.sock"
        var held: [Int32] = []
        for _ in 0..<4 { held.append(try connectUnix(path)) }
        // The server counts a connection once it has accepted it: give it the time to take all four.
        try await Task.sleep(for: .seconds(1))
        #expect(!closedByPeer(held[0], within: .milliseconds(300)), "within the cap: kept")
        let all = held + [try connectUnix(path)]
        // The server closes the connection it accepted last, which on a loaded machine need not be
        // the one made last: one of the five is closed at once, the other four are kept.
        var overCap: [Int32] = []
        let deadline = ContinuousClock.now + .seconds(4)
        while overCap.isEmpty, ContinuousClock.now < deadline {
            overCap = all.filter { closedByPeer($0, within: .milliseconds(50)) }
        }
        #expect(overCap.count == 1, "over the cap: one connection closed at once")
        let kept = all.filter { !overCap.contains($0) }
        #expect(kept.count == 4 && kept.allSatisfy { closedByPeer($0, within: .seconds(10)) }, "idle: closed after 6 s")
        all.forEach { close($0) }
        try await Task.sleep(for: .milliseconds(200))
        #expect(try await server.client.get("/whoami").status == 200, "the uid may connect again")
        await server.stop()
    }

    @Test("user and group lookups run on a thread of their own: a stalled NSS does not stall the cooperative pool")
    func lookupsOffThePool() async throws {
        let server = try await RunningServer(resolver: StalledResolver(delay: 500_000))
        let requests = Task {
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<6 { group.addTask { try await server.client.get("/whoami").status } }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
        }
        // The pool has as many threads as cores; blocking lookups on it would hold this ticker.
        let clock = ContinuousClock()
        var worst = Duration.zero
        for _ in 0..<20 {
            let start = clock.now
            try await Task.sleep(for: .milliseconds(20))
            worst = max(worst, clock.now - start)
        }
        #expect(worst < .milliseconds(300), "the pool kept running while lookups waited: worst tick \(worst)")
        _ = try await requests.value
        await server.stop()
    }

    @Test("an NSS entry larger than the buffer is read again with a bigger one")
    func growingBuffer() {
        let sizes = Mutex<[Int]>([])
        let status = SystemIdentityResolver.withGrowingBuffer { buffer in
            sizes.withLock { $0.append(buffer.count) }
            return buffer.count < 100_000 ? ERANGE : 0
        }
        #expect(status == 0)
        #expect(sizes.withLock { $0 } == [16_384, 32_768, 65_536, 131_072])
        #expect(SystemIdentityResolver().identify(uid: 0, gid: 0).user == "root")
    }
}
