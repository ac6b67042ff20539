import Foundation
import Glibc
import Modbus
import Testing

/// An incubator and an I/O module on one simulated TCP bus; the module's coil 1 is the fail-safe.
private let config = """
    site: e2e
    store: FOLDER/labgate.sqlite
    alerts: FOLDER
    buses:
      - id: lan
        tcp: { host: 127.0.0.1, port: PORT }
    devices:
      - { id: INC-01, kind: incubator, bus: lan, unit: 1, profile: inc, every: 200ms, timeout: 300ms }
      - { id: IO-01, kind: io_module, bus: lan, unit: 9, profile: io, every: 1s, timeout: 300ms }
    profiles:
      inc:
        temperature: { table: input, address: 0, type: float32, order: CDAB, unit: "°C" }
      io:
        output_8: { table: holding, address: 8, type: uint16 }
    notify:
      channels:
        - { id: beacon, relay: { device: IO-01, coil: 0 } }
      fail_safe: { device: IO-01, coil: 1, every: 500ms }
    """

@Suite("fail-safe output: the real daemon holds an I/O module's coil on; killed, the module drops it", .serialized)
struct FailSafeEndToEndTests {
    @Test("labgated keeps the fail-safe coil on; after kill -9 the module's communication watchdog drops it within its time")
    func killedDaemonDropsTheCoil() async throws {
        let watchdog = 2.0
        let harness = try Harness(config: config, scenario: "io_modules:\n  - { device: IO-01, watchdog: 2s }\nevents: []\n")
        try await harness.startSim()
        try harness.startDaemon(extra: [])
        let coils = harness.coils(unit: 9)
        @Sendable func failSafeOn() async throws -> Bool { try await coils.isOn(1) }
        try await eventually("the fail-safe coil on", timeout: .seconds(30), interval: .milliseconds(50), asking: { try await failSafeOn() })
        // Held on through more than twice the module's watchdog time.
        let held = ContinuousClock.now
        while held.duration(to: .now) < .seconds(5) {
            #expect(try await failSafeOn(), "held on \(held.duration(to: .now)) after it came on")
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(try await !coils.isOn(0), "the beacon is off")

        harness.daemon?.kill(SIGKILL)
        let killed = ContinuousClock.now
        _ = try await harness.daemon?.wait(timeout: .seconds(10))
        while try await failSafeOn() {
            guard killed.duration(to: .now) < .seconds(10) else { throw HarnessError("the fail-safe coil stayed on after kill -9") }
            try await Task.sleep(for: .milliseconds(20))
        }
        let dropped = killed.duration(to: .now)
        print("fail-safe coil dropped \(dropped) after kill -9 (watchdog \(watchdog) s)")
        // The last write came at most one period (500 ms) before the kill; the simulator checks
        // its watchdog every 100 ms.
        #expect(dropped <= .seconds(watchdog) + .milliseconds(300), "dropped \(dropped) after kill -9")
        #expect(dropped >= .seconds(watchdog) - .milliseconds(600), "not before the watchdog time since the last write")
        try await eventually("the simulator announces the watchdog") {
            harness.sim?.stderr.contains("IO-01 communication watchdog: no write for 2s, outputs off") == true
        }
    }
}

@Suite("relay channel: an I/O module's coil on while an alarm routed to it is unacknowledged", .serialized)
struct RelayChannelEndToEndTests {
    @Test("an unreachable device switches the beacon coil on through the bus owner; acknowledging its alarms switches it off")
    func beaconFollowsTheAlarms() async throws {
        let harness = try Harness(config: notifyConfig("""
              channels:
                - { id: beacon, relay: { device: IO-01, coil: 0 } }
              rules:
                - { when: [device_unreachable, bus_down], notify: [beacon] }
            """).replacingOccurrences(of: "devices:\n", with: """
            devices:
              - { id: IO-01, kind: io_module, bus: lan, unit: 9, profile: io, every: 500ms, timeout: 300ms }

            """).replacingOccurrences(of: "profiles:\n", with: """
            profiles:
              io:
                output_8: { table: holding, address: 8, type: uint16 }

            """))
        try await harness.startSim()
        try harness.startDaemon(extra: [])
        try await harness.waitForSocket()
        let coils = harness.coils(unit: 9)
        @Sendable func beaconOn() async throws -> Bool { try await coils.isOn(0) }
        try await eventually("the beacon on for FRZ-09's alarm", timeout: .seconds(30), asking: { try await beaconOn() })
        #expect(try await !harness.alarms().isEmpty)
        // The bus's and the device's alarms may come one after the other: acknowledge what is listed until none is.
        try await eventually("the beacon off once every alarm is acknowledged", timeout: .seconds(20), interval: .milliseconds(200), asking: {
            for alarm in try await harness.alarms() { _ = try await harness.control(["alarms", "ack", alarm.id, "--comment", "seen"]) }
            let none = try await harness.alarms().isEmpty
            let on = try await beaconOn()
            return none && !on
        })
        harness.daemon?.kill(SIGTERM)
        #expect(try await harness.daemon?.wait(timeout: .seconds(15)) == 0)
    }
}
