import Foundation
import LabGate
import Outbound

/// POSTs `WebhookBody` as JSON; anything but a 2xx within the timeout is a failure.
struct WebhookChannel: NotificationChannel {
    let settings: WebhookSettings
    let text: NoticeText
    let poster: JSONPoster

    func deliver(_ notice: Notice) async throws {
        let body = WebhookBody(notice, text: text).json()
        try await poster.post(url: settings.url.text, body: body, timeout: settings.timeout)
    }
}
