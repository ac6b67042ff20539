import LabGate

/// `labgate ports` for a person: one block per adapter, with what a config can name it by.
public enum PortsTable {
    public static func render(_ adapters: [SerialAdapter]) -> String {
        guard !adapters.isEmpty else { return "no serial adapters found\n" }
        var text = ""
        for adapter in adapters {
            text += adapter.node
            if let vendor = adapter.vendor, let product = adapter.product {
                text += "  usb \(vendor):\(product)"
                let names = [adapter.manufacturer, adapter.model].compactMap { $0 }
                if !names.isEmpty { text += " (\(names.joined(separator: " ")))" }
                text += "  serial " + (adapter.serial ?? "none (name it by-path)")
            }
            if let driver = adapter.driver { text += "  driver \(driver)" }
            text += "\n"
            for link in adapter.byID + adapter.byPath { text += "  \(link)\n" }
            if let vendor = adapter.vendor, let product = adapter.product {
                let serial = adapter.serial.map { ", serial: \"\($0)\"" } ?? ""
                text += "  config: usb: { vendor: \"\(vendor)\", product: \"\(product)\"\(serial) }\n"
            }
        }
        return text
    }
}
