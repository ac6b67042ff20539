import Foundation
import LabGate
import Outbound

/// Hands the notice as a plain-text mail (`NoticeText`) to the site's SMTP relay. The password is
/// read from its file at each send, so a changed password needs no restart.
struct EmailChannel: NotificationChannel {
    let settings: EmailSettings
    let text: NoticeText
    let client: SMTPClient

    func deliver(_ notice: Notice) async throws {
        var password: String?
        if let file = settings.smtp.passwordFile {
            do {
                password = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .newlines)
            } catch {
                throw ChannelFailure(description: "cannot read password_file \(file): \(error.localizedDescription)")
            }
        }
        let server = SMTPServer(
            host: settings.smtp.host, port: settings.smtp.port, starttls: settings.smtp.starttls, implicitTLS: settings.smtp.implicitTLS,
            user: settings.smtp.user,
            password: password)
        let message = MailMessage(
            from: settings.from, to: settings.to, subject: text.subject(notice), body: text.body(notice), date: notice.time)
        try await client.send(message, via: server)
    }
}
