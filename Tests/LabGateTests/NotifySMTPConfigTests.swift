import Foundation
import LabGate
import Testing

extension NotifyConfigTests {
    func qaSMTP(_ smtp: String) throws -> SMTPSettings? {
        let yaml = replacing("smtp: { host: mail.site.example, port: 587, starttls: true } }", with: "smtp: { host: mail.site.example\(smtp) } }")
        let config = try ConfigLoader.parse(yaml: yaml, file: "lab.yaml")
        guard case .email(let mail)? = config.notify?.channels[1].kind else { return nil }
        return mail.smtp
    }

    @Test("smtp tls: implicit speaks TLS from the first byte, on port 465 unless a port is given; port 465 alone means implicit TLS")
    func implicitTLS() throws {
        #expect(try qaSMTP(", tls: implicit") == SMTPSettings(host: "mail.site.example", port: 465, implicitTLS: true))
        #expect(try qaSMTP(", port: 10465, tls: implicit") == SMTPSettings(host: "mail.site.example", port: 10465, implicitTLS: true))
        #expect(try qaSMTP(", port: 465") == SMTPSettings(host: "mail.site.example", port: 465, implicitTLS: true))
        #expect(try qaSMTP(", port: 465, tls: none") == SMTPSettings(host: "mail.site.example", port: 465))
        #expect(try qaSMTP(", port: 587, tls: starttls") == SMTPSettings(host: "mail.site.example", port: 587, starttls: true))
        #expect(try qaSMTP("") == SMTPSettings(host: "mail.site.example", port: 25))
    }

    @Test("smtp tls and starttls together, or an unknown tls mode, are refused at FILE:LINE:COL")
    func tlsErrors() {
        let both = messages(replacing("port: 587, starttls: true } }", with: "tls: implicit, starttls: true } }"))
        #expect(both.count == 1 && both.first?.hasPrefix("lab.yaml:23:") == true, "\(both)")
        #expect(both.first?.hasSuffix("give tls or starttls, not both (starttls: true is tls: starttls)") == true, "\(both)")
        let unknown = messages(replacing("port: 587, starttls: true } }", with: "tls: ssl } }"))
        #expect(unknown.count == 1 && unknown.first?.hasPrefix("lab.yaml:23:") == true, "\(unknown)")
        #expect(unknown.first?.contains("none, starttls, implicit") == true, "\(unknown)")
    }
}

extension NotifyConfigTests {
    @Test("retries is one setting for every channel (notify.retries); a webhook's own is refused, saying where it went")
    func oneRetryPolicy() throws {
        let config = try ConfigLoader.parse(yaml: replacing("  fail_safe:", with: "  retries: 5\n  fail_safe:"), file: "lab.yaml")
        #expect(config.notify?.retries == 5)
        #expect(try ConfigLoader.parse(yaml: Self.config(passwordFile: secret), file: "lab.yaml").notify?.retries == 3)
        let own = messages(replacing("timeout: 5s }", with: "timeout: 5s, retries: 2 }"))
        #expect(own.count == 1 && own.first?.hasPrefix("lab.yaml:25:") == true, "\(own)")
        #expect(own.first?.hasSuffix("retries is one setting for every channel: notify: { retries: N } (3 unless set)") == true, "\(own)")
        #expect(messages(replacing("  fail_safe:", with: "  retries: 11\n  fail_safe:")).first?.contains("retries") == true)
    }
}
