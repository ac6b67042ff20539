import Modbus

/// One read request covering one or more fields of a profile.
public struct PlannedRequest: Sendable, Hashable {
    public var table: RegisterTable
    public var address: Int
    public var count: Int
    public var fields: [Field]
}

/// Groups a profile's fields into as few read requests as possible: fields of one table whose
/// registers touch or overlap share a request, up to Modbus's 125-register limit.
public enum RequestPlanner {
    public static let maxRegisters = 125

    public static func plan(_ profile: Profile) -> [PlannedRequest] {
        var requests: [PlannedRequest] = []
        for table in RegisterTable.allCases {
            let fields = profile.fields.filter { $0.table == table }.sorted { $0.address < $1.address }
            for field in fields {
                if var last = requests.last, last.table == table,
                   field.address <= last.address + last.count,
                   max(last.address + last.count, field.addresses.upperBound) - last.address <= maxRegisters
                {
                    last.count = max(last.address + last.count, field.addresses.upperBound) - last.address
                    last.fields.append(field)
                    requests[requests.count - 1] = last
                } else {
                    requests.append(PlannedRequest(table: table, address: field.address, count: field.type.width, fields: [field]))
                }
            }
        }
        return requests
    }
}

extension RegisterTable {
    var modbus: ModbusTable {
        switch self {
        case .holding: .holding
        case .input: .input
        }
    }
}
