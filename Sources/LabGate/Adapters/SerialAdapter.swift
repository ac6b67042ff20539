/// A serial port as the system sees it: its device node, the stable links udev made for it, and
/// the USB identity of the adapter behind it (absent for on-board ports).
public struct SerialAdapter: Sendable, Hashable, Codable {
    /// e.g. /dev/ttyUSB0 — moves between boots and replugs.
    public var node: String
    /// /dev/serial/by-id/... — stable per adapter, unless it has no serial number.
    public var byID: [String]
    /// /dev/serial/by-path/... — stable per USB socket (the way to name serial-less CH340s).
    public var byPath: [String]
    /// USB vendor and product ids as four hex digits, e.g. "0403" and "6001" (FTDI FT232R).
    public var vendor: String?
    public var product: String?
    public var serial: String?
    public var manufacturer: String?
    public var model: String?
    public var driver: String?

    public init(
        node: String, byID: [String] = [], byPath: [String] = [], vendor: String? = nil, product: String? = nil,
        serial: String? = nil, manufacturer: String? = nil, model: String? = nil, driver: String? = nil
    ) {
        self.node = node
        self.byID = byID
        self.byPath = byPath
        self.vendor = vendor
        self.product = product
        self.serial = serial
        self.manufacturer = manufacturer
        self.model = model
        self.driver = driver
    }
}

/// How a config names an adapter by its USB identity instead of a path.
public struct USBAdapterMatch: Sendable, Hashable, CustomStringConvertible {
    public var vendor: String
    public var product: String
    public var serial: String?

    public init(vendor: String, product: String, serial: String? = nil) {
        self.vendor = vendor.lowercased()
        self.product = product.lowercased()
        self.serial = serial
    }

    public var description: String {
        "usb \(vendor):\(product)" + (serial.map { " serial \($0)" } ?? "")
    }

    public func matches(_ adapter: SerialAdapter) -> Bool {
        adapter.vendor?.lowercased() == vendor && adapter.product?.lowercased() == product
            && (serial == nil || adapter.serial == serial)
    }

    /// The one adapter that matches, or why there is none or more than one.
    public func resolve(in adapters: [SerialAdapter]) -> Result<SerialAdapter, AdapterLookupError> {
        let found = adapters.filter(matches)
        switch found.count {
        case 1: return .success(found[0])
        case 0: return .failure(.notFound(self))
        default: return .failure(.ambiguous(self, found.map(\.node)))
        }
    }
}

public enum AdapterLookupError: Error, Sendable, Hashable, CustomStringConvertible {
    case notFound(USBAdapterMatch)
    case ambiguous(USBAdapterMatch, [String])

    public var description: String {
        switch self {
        case let .notFound(match): "no serial adapter plugged in matches \(match)"
        case let .ambiguous(match, nodes):
            "\(nodes.count) adapters match \(match) (\(nodes.joined(separator: ", "))): add its serial number, or name it by /dev/serial/by-path"
        }
    }
}
