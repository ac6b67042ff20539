import Modbus

/// One read request covering one or more fields of a profile.
public struct PlannedRequest: Sendable, Hashable, CustomStringConvertible {
    public var table: ModbusTable
    public var address: Int
    public var count: Int
    /// In address order.
    public var fields: [Field]

    public init(table: ModbusTable, address: Int, count: Int, fields: [Field]) {
        self.table = table
        self.address = address
        self.count = count
        self.fields = fields
    }

    /// Registers read that belong to no field.
    public var holes: Int { count - fields.reduce(0) { $0 + $1.type.width } }

    /// "input 0+4": table, first address and count, as in log lines and reading details.
    public var description: String { "\(table.rawValue) \(address)+\(count)" }
}

/// Groups a profile's fields into as few read requests as possible.
///
/// Fields of one table are read together when the registers between them (the fill) number at
/// most `maxFill` and the whole request stays within `maxRegisters`; `onePerField` reads every
/// field on its own. Requests come holding table first, then input, each in address order.
public enum RequestPlanner {
    /// The most registers a Modbus read (function 3 or 4) can return.
    public static let maxRegisters = 125

    public struct Options: Sendable, Hashable {
        public var maxRegisters: Int
        public var maxFill: Int
        public var onePerField: Bool

        public init(
            maxRegisters: Int = RequestPlanner.maxRegisters, maxFill: Int = Device.Defaults.maxFill,
            onePerField: Bool = false
        ) {
            self.maxRegisters = maxRegisters
            self.maxFill = maxFill
            self.onePerField = onePerField
        }
    }

    public static func plan(_ profile: Profile, options: Options = Options()) -> [PlannedRequest] {
        plan(profile.fields, options: options)
    }

    public static func plan(_ fields: [Field], options: Options = Options()) -> [PlannedRequest] {
        let limit = min(max(1, options.maxRegisters), maxRegisters)
        var requests: [PlannedRequest] = []
        for table in ModbusTable.allCases {
            let sorted = fields.filter { $0.table == table }.sorted { $0.address < $1.address }
            var current: PlannedRequest?
            for field in sorted {
                if var request = current, !options.onePerField {
                    let end = request.address + request.count
                    let newEnd = max(end, field.addresses.upperBound)
                    if field.address - end <= max(0, options.maxFill), newEnd - request.address <= limit {
                        request.count = newEnd - request.address
                        request.fields.append(field)
                        current = request
                        continue
                    }
                }
                if let request = current { requests.append(request) }
                // A field wider than the limit still gets its own request: it cannot be split.
                current = PlannedRequest(table: table, address: field.address, count: field.type.width, fields: [field])
            }
            if let request = current { requests.append(request) }
        }
        return requests
    }

    /// The requests to use instead of `request` when the device refused it as a whole (exception 2
    /// or 3, as devices answer a read that covers registers they do not have, or more than they
    /// serve at once): first without holes, then one field per request. Nil when it cannot be split.
    public static func split(_ request: PlannedRequest, options: Options) -> [PlannedRequest]? {
        guard request.fields.count > 1 else { return nil }
        if request.holes > 0 {
            var tight = options
            tight.maxFill = 0
            let parts = plan(request.fields, options: tight)
            if parts.count > 1 { return parts }
        }
        var single = options
        single.onePerField = true
        return plan(request.fields, options: single)
    }
}

