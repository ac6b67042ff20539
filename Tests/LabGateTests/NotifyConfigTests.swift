import Foundation
import LabGate
import LabGateClient
import Testing
import TestSupport

/// `notify:` as the README documents it (the shape of issue 16), and its errors at FILE:LINE:COL.
@Suite("Notify config") struct NotifyConfigTests {
    /// Line numbers on the right are what the error tests point at.
    static func config(passwordFile: String) -> String {
        """
        site: cell-therapy-unit-1
        store: lab.sqlite
        alerts: alerts
        buses:
          - id: sim
            tcp: { host: 127.0.0.1, port: 15020 }
        devices:
          - { id: INC-01, kind: incubator, bus: sim, unit: 1, profile: incubator, every: 2s }
          - { id: IO-01, kind: io_module, bus: sim, unit: 9, profile: io, every: 1s }
        profiles:
          incubator:
            temperature: { table: input, address: 0, type: float32 }
          io:
            inputs: { table: holding, address: 10, type: uint16 }
        notify:
          channels:
            - id: oncall-mail
              email:
                to: [oncall@site.example]
                from: labgate@lab-host.example
                smtp: { host: mail.site.example, port: 587, starttls: true, user: labgate, password_file: \(passwordFile) }
            - id: qa-mail
              email: { to: [qa@site.example], from: labgate@lab-host.example, smtp: { host: mail.site.example, port: 587, starttls: true } }
            - id: hook
              webhook: { url: http://127.0.0.1:9000/labgate, timeout: 5s }
            - id: am
              alertmanager: { url: http://127.0.0.1:9093 }
            - id: beacon
              relay: { device: IO-01, coil: 0 }
          rules:
            - when: [deviation_opened, excursion_critical, device_unreachable, bus_down, store_failing]
              notify: [oncall-mail, hook, am, beacon]
              repeat: 15m
              escalate:
                - { after: 20m, notify: [qa-mail] }
          fail_safe: { device: IO-01, coil: 1, every: 5s }

        """
    }

    let folder: TemporaryFolder
    let secret: String

    init() throws {
        folder = try TemporaryFolder()
        secret = folder.file("smtp.pass")
        try "hunter2\n".write(toFile: secret, atomically: false, encoding: .utf8)
        chmod(secret, 0o600)
    }

    func messages(_ yaml: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> [String] {
        ConfigFixtures.messages(yaml, sourceLocation: sourceLocation)
    }

    func replacing(_ old: String, with new: String) -> String {
        let text = Self.config(passwordFile: secret)
        guard let range = text.range(of: old) else {
            Issue.record("'\(old)' is not in the notify config")
            return text
        }
        return text.replacingCharacters(in: range, with: new)
    }

    @Test("The issue's notify section is read whole: channels, rules with repeat and escalation, the fail-safe")
    func issueShapeIsRead() throws {
        let config = try ConfigLoader.parse(yaml: Self.config(passwordFile: secret), file: "lab.yaml")
        let notify = try #require(config.notify)
        #expect(notify.channels.map(\.id) == ["oncall-mail", "qa-mail", "hook", "am", "beacon"])
        guard case .email(let mail) = notify.channels[0].kind else { Issue.record("not email"); return }
        #expect(mail.to == ["oncall@site.example"])
        #expect(mail.smtp == SMTPSettings(host: "mail.site.example", port: 587, starttls: true, user: "labgate", passwordFile: secret))
        guard case .webhook(let hook) = notify.channels[2].kind else { Issue.record("not webhook"); return }
        #expect(hook.url.host == "127.0.0.1" && hook.url.port == 9000 && hook.url.path == "/labgate")
        #expect(hook.timeout == .seconds(5) && notify.retries == NotifySettings.defaultRetries)
        guard case .alertmanager(let manager) = notify.channels[3].kind else { Issue.record("not alertmanager"); return }
        #expect(manager.url.port == 9093 && manager.url.path == "/")
        #expect(notify.channels[4].kind == .relay(RelayOutput(device: "IO-01", target: .coil(0))))
        let rule = try #require(notify.rules.first)
        #expect(rule.when == [.deviationOpened, .excursionCritical, .deviceUnreachable, .busDown, .storeFailing])
        #expect(rule.notify == ["oncall-mail", "hook", "am", "beacon"])
        #expect(rule.repeat == .seconds(900))
        #expect(rule.escalate == [NotifyRule.Escalation(after: .seconds(1200), notify: ["qa-mail"])])
        #expect(rule.until == .acknowledged)
        #expect(notify.failSafe == FailSafe(device: "IO-01", coil: 1, every: .seconds(5), location: notify.failSafe?.location))
    }

    @Test("check-config prints each channel, each rule's timing and the fail-safe")
    func checkConfigPrintsTheNotifySetup() throws {
        let config = try ConfigLoader.parse(yaml: Self.config(passwordFile: secret), file: "lab.yaml")
        let text = ConfigSummary.render(config)
        #expect(text.contains("  hook         webhook POST http://127.0.0.1:9000/labgate (timeout 5s)"))
        #expect(text.contains("  beacon       relay IO-01 coil 0"))
        #expect(text.contains("-> oncall-mail, hook, am, beacon, again every 15m until acknowledged"))
        #expect(text.contains("after 20m also -> qa-mail"))
        #expect(text.contains("fail-safe  IO-01 coil 1 written every 5s while healthy"))
    }

    @Test("until: recovered ends a rule's repeats at recovery; anything else is refused")
    func untilKey() throws {
        let recovered = replacing("      repeat: 15m\n", with: "      repeat: 15m\n      until: recovered\n")
        #expect(try ConfigLoader.parse(yaml: recovered, file: "lab.yaml").notify?.rules.first?.until == .recovered)
        #expect(messages(replacing("      repeat: 15m\n", with: "      repeat: 15m\n      until: never\n")) == [
            "lab.yaml:34:14: notify rule #1: unknown until 'never' (expected one of: acknowledged, recovered)"
        ])
    }

    @Test("A rule naming an unknown channel or event is refused at its place, with the known names")
    func unknownChannelOrEvent() {
        #expect(messages(replacing("notify: [qa-mail]", with: "notify: [qa-mial]")) == [
            "lab.yaml:35:34: notify rule #1, escalate #1: unknown channel 'qa-mial' (known channels: am, beacon, hook, oncall-mail, qa-mail)"
        ])
        #expect(messages(replacing("bus_down,", with: "bus_gone,")).first?.hasPrefix(
            "lab.yaml:31:72: notify rule #1: unknown event 'bus_gone' (expected one of: excursion_began,") == true)
    }

    @Test("A relay or fail-safe on an unknown device, or on a device that is not an io_module, is refused")
    func outputsOnDevicesThatCannotBeWritten() {
        #expect(messages(replacing("relay: { device: IO-01", with: "relay: { device: IO-02")) == [
            "lab.yaml:29:24: notify channel beacon, relay: unknown device 'IO-02' (known devices: INC-01, IO-01)"
        ])
        #expect(messages(replacing("fail_safe: { device: IO-01", with: "fail_safe: { device: INC-01")) == [
            "lab.yaml:36:24: notify, fail_safe: device INC-01 is incubator: outputs are written only to devices of kind io_module (labgate never writes to the equipment it monitors)"
        ])
        #expect(messages(replacing("coil: 0 }", with: "register: 10 }")) == [
            "lab.yaml:29:41: notify channel beacon, relay: register 10 of IO-01 holds channel inputs of profile io: a relay would overwrite a measurement"
        ])
        #expect(messages(replacing("coil: 1, every", with: "coil: 0, every")) == [
            "lab.yaml:36:14: notify, fail_safe: IO-01 coil 0 is already driven by channel beacon"
        ])
    }

    @Test("An SMTP password file other users can read is refused with its name and mode")
    func readableSecret() {
        chmod(secret, 0o644)
        #expect(messages(Self.config(passwordFile: secret)) == [
            "lab.yaml:21:99: notify channel oncall-mail, email, smtp: password_file \(secret) has mode 0644: other users can read it (chmod 600 \(secret), owned by the labgate user)"
        ])
        chmod(secret, 0o640)
        #expect(messages(Self.config(passwordFile: secret)).first?.contains("has mode 0640") == true)
        #expect(messages(Self.config(passwordFile: folder.file("missing"))).first?.contains("no such file or directory") == true)
    }

    @Test("Durations out of range are refused with the bound")
    func durationsOutOfRange() {
        #expect(messages(replacing("repeat: 15m", with: "repeat: 500ms")) == [
            "lab.yaml:33:15: notify rule #1: repeat 500ms is below the minimum 1s"
        ])
        #expect(messages(replacing("after: 20m", with: "after: 8d")) == [
            "lab.yaml:35:20: notify rule #1, escalate #1: after 8d is above the maximum 7d"
        ])
        #expect(messages(replacing("every: 5s }", with: "every: 2m }")) == [
            "lab.yaml:36:47: notify, fail_safe: every 2m is above the maximum 1m"
        ])
        #expect(messages(replacing("timeout: 5s }", with: "timeout: 10m }")) == [
            "lab.yaml:25:63: notify channel hook, webhook: timeout 10m is above the maximum 2m"
        ])
    }
}
