import Yams

extension ConfigReader {
    static let busKeys = ["id", "tcp"]
    static let transportKeys = ["tcp"]
    static let tcpKeys = ["host", "port"]

    /// The `buses:` list. Records every bus id (even of a bus with other problems) so that devices
    /// naming it are not reported a second time.
    mutating func readBuses(_ node: Node) -> [Bus] {
        guard let items = items(of: node, for: "buses", in: "") else { return [] }
        if items.isEmpty {
            report("at least one bus is needed", at: node, in: "buses")
        }
        return items.enumerated().compactMap { index, item in readBus(item, index: index) }
    }

    private mutating func readBus(_ node: Node, index: Int) -> Bus? {
        let context = Self.peekName(node, key: "id").map { "bus \($0)" } ?? "bus #\(index + 1)"
        guard let entries = entries(of: node, keys: Self.busKeys, required: ["id"], for: "a bus", in: context)
        else { return nil }

        let id = string("id", of: entries)
        var isFirstWithID = false
        if let id, let idNode = entries["id"] {
            if let first = buses[id] {
                report("duplicate bus id '\(id)' (first at line \(first.location.line))", at: idNode, in: "")
            } else {
                buses[id] = (location(of: idNode), nil)
                isFirstWithID = true
            }
        }

        let transports = entries.entries.filter { Self.transportKeys.contains($0.key) }
        if transports.isEmpty {
            let expected = Self.transportKeys.joined(separator: ", ")
            report("missing transport (expected one of: \(expected))", at: node, in: context)
        }
        for extra in transports.dropFirst() {
            report("more than one transport ('\(transports[0].key)' and '\(extra.key)')", at: extra.keyNode, in: context)
        }
        guard let transportEntry = transports.first else { return nil }
        let transport = readTCP(transportEntry.value, in: context)

        guard let id, let transport else { return nil }
        if isFirstWithID { buses[id]?.transport = transport }
        return Bus(id: id, transport: transport, location: location(of: node))
    }

    private mutating func readTCP(_ node: Node, in context: String) -> Bus.Transport? {
        let tcpContext = "\(context), tcp"
        guard let tcp = entries(of: node, keys: Self.tcpKeys, required: Self.tcpKeys, for: "tcp", in: tcpContext)
        else { return nil }
        let host = string("host", of: tcp)
        let port = integer("port", of: tcp, range: 1...65535)
        guard let host, let port else { return nil }
        return .tcp(host: host, port: port)
    }
}
