import Yams

extension ConfigReader {
    static let roleKeys = ["operators", "qa", "separate_duties"]

    /// `control:` the path of the control socket (default `/run/labgate/control.sock`).
    mutating func readControl(_ top: Entries) -> String? {
        guard let node = top["control"], let path = string(node, "control", in: "") else { return nil }
        // sockaddr_un holds 108 bytes with the terminating zero.
        if path.utf8.count > 107 {
            report("control socket path is \(path.utf8.count) bytes long (at most 107)", at: node, in: "")
        }
        return path
    }

    /// `roles:` which groups give the operator and QA roles, e.g. `{ operators: [lab-ops], qa: [qa] }`,
    /// and `separate_duties: false` to let the user who acknowledged a deviation close it too.
    mutating func readRoles(_ node: Node) -> Roles {
        guard let map = entries(of: node, keys: Self.roleKeys, required: [], for: "roles", in: "roles") else {
            return Roles()
        }
        var roles = Roles()
        if let node = map["operators"] { roles.operators = readGroups(node, role: "operators") }
        if let node = map["qa"] { roles.qa = readGroups(node, role: "qa") }
        if let separate = boolean("separate_duties", of: map) { roles.separateDuties = separate }
        return roles
    }

    /// A list of group names (a single name is taken as a list of one).
    private mutating func readGroups(_ node: Node, role: String) -> [String] {
        let context = "roles, \(role)"
        let nodes: [Node]
        if case .sequence = node {
            nodes = items(of: node, for: "groups", in: context) ?? []
        } else {
            nodes = [node]
        }
        var groups: [String] = []
        for item in nodes {
            guard let name = string(item, "a group name", in: context) else { continue }
            if name.contains(where: { $0.isWhitespace || $0 == ":" || $0 == "," }) {
                report("'\(name)' is not a group name", at: item, in: context)
                continue
            }
            groups.append(name)
        }
        return groups
    }
}
