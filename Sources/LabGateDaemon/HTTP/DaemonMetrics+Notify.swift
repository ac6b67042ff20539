import Foundation
import LabGate
import Prometheus

/// Notification channels in `/metrics`: each channel's last success and last failure (seconds
/// since the epoch, 0 when none yet) and its attempts by result.
extension DaemonMetrics {
    public func configureNotify(_ config: Config) {
        for channel in config.notify?.channels ?? [] {
            _ = registry.makeGauge(descriptor: NotifyNames.lastSuccess, labels: [("notify_channel", channel.id)])
            _ = registry.makeGauge(descriptor: NotifyNames.lastFailure, labels: [("notify_channel", channel.id)])
            for result in ["delivered", "retrying", "failed"] {
                _ = registry.makeCounter(descriptor: NotifyNames.attempts, labels: [("notify_channel", channel.id), ("result", result)])
            }
        }
    }

    func notification(channel: String, success: Date?, failure: Date?) {
        if let success {
            registry.makeGauge(descriptor: NotifyNames.lastSuccess, labels: [("notify_channel", channel)]).set(success.timeIntervalSince1970)
        }
        if let failure {
            registry.makeGauge(descriptor: NotifyNames.lastFailure, labels: [("notify_channel", channel)]).set(failure.timeIntervalSince1970)
        }
    }

    func notificationAttempt(channel: String, result: String) {
        registry.makeCounter(descriptor: NotifyNames.attempts, labels: [("notify_channel", channel), ("result", result)]).increment()
    }

    enum NotifyNames {
        static var lastSuccess: MetricNameDescriptor { MetricNameDescriptor(
            namespace: "labgate", subsystem: "notify", metricName: "last_success", unitName: "timestamp_seconds",
            helpText: "When the notify channel last delivered a message, in seconds since the Unix epoch (0: not yet).") }
        static var lastFailure: MetricNameDescriptor { MetricNameDescriptor(
            namespace: "labgate", subsystem: "notify", metricName: "last_failure", unitName: "timestamp_seconds",
            helpText: "When an attempt through the notify channel last failed, in seconds since the Unix epoch (0: never).") }
        static var attempts: MetricNameDescriptor { MetricNameDescriptor(
            namespace: "labgate", subsystem: "notify", metricName: "attempts", unitName: "total",
            helpText: "Attempts to deliver through a notify channel by result: delivered, retrying (failed, tried again), failed (given up: notification_failed).") }
    }
}
