import CUdev
import Foundation

/// Serial ports found through libudev.
public enum SerialAdapters {
    /// Whether the udev daemon runs here; without it (containers) there are no /dev/serial links
    /// and adapters can only be named by device path.
    public static var udevIsRunning: Bool {
        FileManager.default.fileExists(atPath: "/run/udev/control")
    }

    /// Every tty backed by real hardware (USB adapters and on-board UARTs that exist), by node.
    public static func list() -> [SerialAdapter] {
        guard let udev = udev_new() else { return [] }
        defer { udev_unref(udev) }
        guard let enumerate = udev_enumerate_new(udev) else { return [] }
        defer { udev_enumerate_unref(enumerate) }
        udev_enumerate_add_match_subsystem(enumerate, "tty")
        udev_enumerate_scan_devices(enumerate)
        var adapters: [SerialAdapter] = []
        for syspath in names(udev_enumerate_get_list_entry(enumerate)) {
            guard let device = udev_device_new_from_syspath(udev, syspath) else { continue }
            defer { udev_device_unref(device) }
            if let adapter = adapter(from: device) { adapters.append(adapter) }
        }
        return adapters.sorted { $0.node < $1.node }
    }

    /// The adapter a udev device describes, or nil for virtual terminals and absent UARTs.
    static func adapter(from device: OpaquePointer) -> SerialAdapter? {
        guard let node = string(udev_device_get_devnode(device)) else { return nil }
        // Virtual consoles and ptys have no parent device; ttyS0..31 exist even without a UART.
        guard let parent = udev_device_get_parent(device) else { return nil }
        let usb = udev_device_get_parent_with_subsystem_devtype(device, "usb", "usb_device")
        // An 8250 port whose UART type is 0 (PORT_UNKNOWN) has no hardware behind it.
        if usb == nil, string(udev_device_get_sysattr_value(device, "type")) == "0" { return nil }
        let links = names(udev_device_get_devlinks_list_entry(device))
        return SerialAdapter(
            node: node,
            byID: links.filter { $0.hasPrefix("/dev/serial/by-id/") },
            byPath: links.filter { $0.hasPrefix("/dev/serial/by-path/") },
            vendor: usb.flatMap { string(udev_device_get_sysattr_value($0, "idVendor")) },
            product: usb.flatMap { string(udev_device_get_sysattr_value($0, "idProduct")) },
            serial: usb.flatMap { string(udev_device_get_sysattr_value($0, "serial")) },
            manufacturer: usb.flatMap { string(udev_device_get_sysattr_value($0, "manufacturer")) },
            model: usb.flatMap { string(udev_device_get_sysattr_value($0, "product")) },
            driver: string(udev_device_get_driver(parent)) ?? property(device, "ID_USB_DRIVER"))
    }

    static func names(_ first: OpaquePointer?) -> [String] {
        var result: [String] = []
        var entry = first
        while let current = entry {
            if let name = string(udev_list_entry_get_name(current)) { result.append(name) }
            entry = udev_list_entry_get_next(current)
        }
        return result
    }

    static func property(_ device: OpaquePointer, _ key: String) -> String? {
        string(udev_device_get_property_value(device, key))
    }

    static func string(_ pointer: UnsafePointer<CChar>?) -> String? {
        pointer.map { String(cString: $0) }
    }
}
