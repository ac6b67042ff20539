import CUdev
import Foundation
import Glibc

/// Serial adapters plugged in or pulled out, as udev announces them.
public struct AdapterEvent: Sendable, Hashable {
    public enum Action: String, Sendable { case added, removed }

    public var action: Action
    public var adapter: SerialAdapter
}

/// Listens to udev's netlink announcements of tty devices on a thread of its own (the call
/// blocks) and hands them out as an async stream. Where udev does not run it says so and ends.
public final class AdapterMonitor: Sendable {
    public let events: AsyncStream<AdapterEvent>
    private let continuation: AsyncStream<AdapterEvent>.Continuation
    private let stopping = Stopping()

    private final class Stopping: @unchecked Sendable {
        private let lock = NSLock()
        private var flag = false
        var isSet: Bool { lock.withLock { flag } }
        func set() { lock.withLock { flag = true } }
    }

    public init() {
        (events, continuation) = AsyncStream.makeStream(of: AdapterEvent.self)
    }

    /// Starts listening. `report` hears, once, why it cannot (no udev here, netlink refused).
    public func start(report: @escaping @Sendable (String) -> Void) {
        guard SerialAdapters.udevIsRunning else {
            continuation.finish()
            report("udev is not running here (a container?): serial adapters are named by path only, replugs are noticed by polling")
            return
        }
        let continuation = continuation
        let stopping = stopping
        let thread = Thread {
            defer { continuation.finish() }
            guard let udev = udev_new() else { return report("cannot open libudev") }
            defer { udev_unref(udev) }
            guard let monitor = udev_monitor_new_from_netlink(udev, "udev") else {
                return report("cannot listen to udev events (netlink refused): replugs are noticed by polling")
            }
            defer { udev_monitor_unref(monitor) }
            udev_monitor_filter_add_match_subsystem_devtype(monitor, "tty", nil)
            udev_monitor_enable_receiving(monitor)
            var pending = pollfd(fd: udev_monitor_get_fd(monitor), events: Int16(POLLIN), revents: 0)
            while !stopping.isSet {
                // A bounded wait, so that stop() is noticed.
                guard poll(&pending, 1, 250) > 0, let device = udev_monitor_receive_device(monitor) else { continue }
                defer { udev_device_unref(device) }
                if let event = Self.event(device) { continuation.yield(event) }
            }
        }
        thread.name = "udev monitor"
        thread.start()
    }

    private static func event(_ device: OpaquePointer) -> AdapterEvent? {
        let action = SerialAdapters.string(udev_device_get_action(device))
        let kind: AdapterEvent.Action
        switch action {
        case "add": kind = .added
        case "remove": kind = .removed
        default: return nil
        }
        // A removed device has lost its parents: only its node is left to name it.
        guard let adapter = SerialAdapters.adapter(from: device)
            ?? SerialAdapters.string(udev_device_get_devnode(device)).map({ SerialAdapter(node: $0) })
        else { return nil }
        return AdapterEvent(action: kind, adapter: adapter)
    }

    public func stop() {
        stopping.set()
    }
}
