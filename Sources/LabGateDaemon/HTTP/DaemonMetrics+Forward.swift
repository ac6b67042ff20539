import Prometheus
import SiteStore

/// The forward lag on `/metrics`: how many local readings the site store has not confirmed, for
/// how long, and whether the gateway is connected to it.
extension DaemonMetrics {
    func setForwardGauges(_ snapshot: ForwardState.Snapshot) {
        let labels = [("gateway", snapshot.gateway)]
        registry.makeGauge(descriptor: ForwardNames.lagReadings, labels: labels).set(Double(snapshot.lagReadings))
        registry.makeGauge(descriptor: ForwardNames.lagSeconds, labels: labels).set(snapshot.lagSeconds)
        registry.makeGauge(descriptor: ForwardNames.connected, labels: labels).set(snapshot.connected ? 1.0 : 0.0)
        registry.makeGauge(descriptor: ForwardNames.forwarded, labels: labels).set(Double(snapshot.forwardedReadings))
    }

    enum ForwardNames {
        static var lagReadings: MetricNameDescriptor { MetricNameDescriptor(
            namespace: "labgate", subsystem: "forward", metricName: "lag_readings", unitName: "",
            helpText: "Readings stored locally that the site store has not confirmed yet.") }
        static var lagSeconds: MetricNameDescriptor { MetricNameDescriptor(
            namespace: "labgate", subsystem: "forward", metricName: "lag", unitName: "seconds",
            helpText: "How long the site store has been missing some local reading (0 when it holds them all).") }
        static var connected: MetricNameDescriptor { MetricNameDescriptor(
            namespace: "labgate", subsystem: "forward", metricName: "connected", unitName: "",
            helpText: "1 while the gateway is connected to the site store, else 0.") }
        static var forwarded: MetricNameDescriptor { MetricNameDescriptor(
            namespace: "labgate", subsystem: "forward", metricName: "readings_forwarded", unitName: "",
            helpText: "Readings this daemon forwarded to the site store since it started.") }
    }
}

extension StatusSnapshot.ForwardView {
    init(_ snapshot: ForwardState.Snapshot) {
        self.init(
            gateway: snapshot.gateway, url: snapshot.url, connected: snapshot.connected, lagReadings: snapshot.lagReadings,
            lagSeconds: snapshot.lagSeconds, lastForward: snapshot.lastForward, lastError: snapshot.lastError)
    }
}
