import Foundation
import Logging
import ServiceLifecycle

/// Everything after polling, in the order data flows: store, evaluate, alert. It consumes the
/// pollers' stream until it ends (so on shutdown every accepted reading is written), flushing
/// the writer at least once per `flushInterval` meanwhile.
public struct ReadingPipeline: Service {
    private let input: AsyncStream<PollingEvent>
    private let writer: ReadingWriter
    private let alerts: AlertLog
    private let config: Config
    private let echo: (@Sendable (PollResult) -> Void)?
    private let flushInterval: Duration
    private let logger: Logger

    public init(
        input: AsyncStream<PollingEvent>, writer: ReadingWriter, alerts: AlertLog, config: Config,
        flushInterval: Duration = .seconds(1), echo: (@Sendable (PollResult) -> Void)? = nil, logger: Logger
    ) {
        self.input = input
        self.writer = writer
        self.alerts = alerts
        self.config = config
        self.echo = echo
        self.flushInterval = flushInterval
        self.logger = logger
    }

    public func run() async {
        let writer = writer
        let logger = logger
        let interval = flushInterval
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                await Self.flush(writer, logger: logger)
            }
        }
        var evaluator = Evaluator(config: config)
        for await event in input {
            guard case let .poll(poll) = event else {
                evaluator.evaluate(event).forEach(raise)
                continue
            }
            do {
                try await writer.append(poll.readings)
            } catch {
                logger.error("store write failed, readings kept in memory and retried: \(error)")
            }
            echo?(poll)
            if let failure = poll.failure {
                logger.debug("poll of \(poll.device) failed: \(failure)")
            }
            evaluator.evaluate(event).forEach(raise)
        }
        ticker.cancel()
        await Self.flush(writer, logger: logger)
        let left = await writer.pendingCount
        if left > 0 {
            logger.critical("\(left) readings could not be written to \(config.store) before stopping")
        }
    }

    private func raise(_ event: AlertEvent) {
        let text = "\(event.event.rawValue) \(AlertFormatter.summary(event))"
        switch event.severity {
        case .critical: logger.critical("\(text)")
        case .warning: logger.warning("\(text)")
        case .info: logger.notice("\(text)")
        }
        do {
            try alerts.write(event)
        } catch {
            logger.critical("\(error); the event was: \(text)")
        }
    }

    private static func flush(_ writer: ReadingWriter, logger: Logger) async {
        do {
            try await writer.flush()
        } catch {
            logger.error("store write failed, readings kept in memory and retried: \(error)")
        }
    }
}
