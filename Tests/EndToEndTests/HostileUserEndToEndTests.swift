import Foundation
import Glibc
import LabGate
import LabGateClient
import Testing

/// What the unprivileged user does, in Perl (perl-base is Essential on Debian, so it is there):
/// POSTs of a large body to the control socket, each read to its reply; then connections opened
/// and left idle, and after `hold` seconds a count of those the daemon has closed.
private let hostileScript = #"""
use strict; use Socket; use Fcntl;
my ($path, $posts, $size, $idle, $hold) = @ARGV;
$| = 1; alarm 600;
sub conn { socket(my $s, AF_UNIX, SOCK_STREAM, 0) or die "socket: $!"; connect($s, pack_sockaddr_un($path)) or return undef; return $s; }
my %status; my $body = "x" x $size;
for my $i (1 .. $posts) {
    my $s = conn() or do { $status{"no-connection"}++; next };
    send($s, "POST /lots HTTP/1.1\r\nHost: labgate\r\nContent-Type: application/json\r\nContent-Length: $size\r\n\r\n", MSG_NOSIGNAL);
    my $off = 0;
    while ($off < $size) { my $n = send($s, substr($body, $off, 65536), MSG_NOSIGNAL); last unless defined $n && $n > 0; $off += $n; }
    my $reply = ""; while (1) { my $n = sysread($s, my $buf, 4096); last unless $n; $reply .= $buf; }
    my ($code) = $reply =~ m{^HTTP/1\.1 (\d+)}; $status{$code // "none"}++;
    close $s;
}
print "posts ", join(" ", map { "$_=$status{$_}" } sort keys %status), "\n";
my @held; my $failed = 0;
for (1 .. $idle) { my $s = conn(); if ($s) { push @held, $s } else { $failed++ } }
print "idle connected=", scalar(@held), " failed=$failed\n";
sleep $hold;
my $closed = 0;
for my $s (@held) {
    fcntl($s, F_SETFL, fcntl($s, F_GETFL, 0) | O_NONBLOCK);
    my $n = sysread($s, my $buf, 1);
    $closed++ if defined $n && $n == 0;
}
print "idle closed=$closed\n";
"""#

/// Root can become `nobody`; anyone else cannot, and then the test says why it did not run.
private let isRoot = geteuid() == 0

@Suite("a hostile local user", .serialized)
struct HostileUserEndToEndTests {
    @Test(
        "100 POSTs of 2 MiB and 2,000 idle connections from nobody: the audit trail grows by two entries, polling, alerting and the watchdog go on, and an operator's request succeeds",
        .enabled(if: isRoot, "needs root to run a client as the unprivileged user nobody (setpriv)"))
    func floodFromNobody() async throws {
        let harness = try Harness(config: lotConfig())
        chmod(harness.folder, 0o755)  // nobody must reach the socket in it
        let notify = try NotifySocket(folder: harness.folder)
        try await harness.startSim(speed: 1)
        try harness.startDaemon(environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "400000"])
        try await harness.waitForSocket()
        try await eventually("first readings", timeout: .seconds(20)) { try !harness.polls(device: "INC-01").isEmpty }
        let auditBefore = try auditRows(harness)

        let attackStart = Date()
        let hostile = try harness.process(
            "/usr/bin/prlimit",
            ["--nofile=8192:8192", "--", "/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--",
             "/usr/bin/perl", "-e", hostileScript, harness.folder + "/control.sock", "100", String(2 * 1024 * 1024), "2000", "14"],
            name: "nobody")
        try await eventually("the POSTs answered", timeout: .seconds(120)) { hostile.stdout.contains("posts ") }
        let postsTook = Date().timeIntervalSince(attackStart)
        #expect(hostile.stdout.contains("posts 403=100\n"), "every POST refused by role, none read: \(hostile.stdout) \(hostile.stderr)")
        try await eventually("2,000 connections opened", timeout: .seconds(60)) { hostile.stdout.contains("idle connected=") }
        #expect(hostile.stdout.contains("idle connected=2000 failed=0"), "\(hostile.stdout)")

        // While nobody holds them: an operator's request succeeds, and polling goes on.
        let started = try await harness.control(["lot", "start", "LOT-OK", "--device", "INC-01", "--spec", "loose"])
        #expect(started.out.contains("LOT-OK  in INC-01 with spec loose"))
        let pingsBefore = notify.received.filter { $0 == "WATCHDOG=1" }.count
        try await Task.sleep(for: .seconds(2))
        let polls = try harness.polls(device: "INC-01").filter { $0.time > attackStart }
        #expect(polls.count >= 5)
        let pings = notify.received.filter { $0 == "WATCHDOG=1" }.count - pingsBefore
        #expect(pings >= 3, "the watchdog is still fed")
        // ... and alerting: the devices stop answering, and it says so.
        harness.sim?.kill(SIGKILL)
        let killed = Date()
        try await eventually("device_unreachable while the connections are held", timeout: .seconds(10)) {
            harness.alertLines().contains { $0.contains("device_unreachable") && $0.contains("INC-01") }
        }
        let alertAfter = Date().timeIntervalSince(killed)
        try await eventually("the idle connections counted", timeout: .seconds(30)) { hostile.stdout.contains("idle closed=") }
        #expect(hostile.stdout.contains("idle closed=2000"), "every idle connection closed by the daemon: \(hostile.stdout)")
        _ = try await hostile.wait(timeout: .seconds(10))
        try await harness.stopDaemon()

        let added = try auditRows(harness).dropFirst(auditBefore.count)
        let refused = added.filter { $0.action == "refused" }
        #expect(refused.count == 2, "the first refusal at once, the other 99 as one count: \(refused.map(\.reason))")
        #expect(refused.allSatisfy { $0.user == "nobody" && $0.object == "uid 65534" })
        #expect(refused.last?.reason?.hasPrefix("99 requests refused within 1m") == true)
        let bytes = refused.reduce(0) { $0 + ($1.new?.utf8.count ?? 0) + ($1.reason?.utf8.count ?? 0) }
        #expect(bytes < 2048, "200 MiB sent; the trail grew by \(bytes) bytes")
        #expect(!refused.contains { ($0.new ?? "").contains("xxxx") }, "never the body")
        let gaps = zip(polls, polls.dropFirst()).map { $1.time.timeIntervalSince($0.time) }
        print(
            "hostile user: \(refused.count) refused entries, \(bytes) bytes of the trail; POSTs took \(postsTook) s; "
                + "\(polls.count) polls of INC-01 during the attack (largest gap \(gaps.max() ?? 0) s), \(pings) watchdog pings in 2 s; "
                + "device_unreachable \(alertAfter) s after the simulator died; "
                + hostile.stdout.split(separator: "\n").joined(separator: "; "))
    }

    @Test("the HTTP listener answers only to its own address and configured names, and closes idle connections")
    func httpListener() async throws {
        let web = freePort()
        let harness = try Harness(config: lotConfig() + "\nhttp: { port: \(web), names: [wall.lab.example] }\n")
        try await harness.startSim()
        try harness.startDaemon()
        try await eventually("the HTTP listener", timeout: .seconds(20)) { httpGet(port: web, path: "/status")?.status == 200 }
        let rebound = try #require(httpGet(port: web, path: "/status", host: "attacker.example:\(web)"))
        #expect(rebound.status == 421, "a rebound name is refused")
        #expect(!rebound.body.contains("INC-01"), "and sees nothing")
        #expect(httpGet(port: web, path: "/", host: "wall.lab.example:\(web)")?.status == 200)
        #expect(httpGet(port: web, path: "/metrics", host: "localhost:\(web)")?.status == 200)

        var address = loopbackAddress(port: web)
        let idle = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(idle) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(idle, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        #expect(connected)
        let opened = ContinuousClock.now
        var poller = pollfd(fd: idle, events: Int16(POLLIN), revents: 0)
        #expect(poll(&poller, 1, 15_000) == 1)
        var byte: UInt8 = 0
        #expect(recv(idle, &byte, 1, 0) == 0, "closed by the daemon")
        let waited = ContinuousClock.now - opened
        #expect(waited >= .seconds(9) && waited < .seconds(13), "after the 10 s idle timeout: \(waited)")
        try await harness.stopDaemon()
    }
}

private func auditRows(_ harness: Harness) throws -> [AuditEntry] {
    try AuditTrail.list(in: ReadingStore(readingExisting: harness.storePath))
}
