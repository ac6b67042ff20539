import Yams

extension ConfigReader {
    /// `anchors:` the anchor file; `anchor_interval:` how often the chain heads are anchored,
    /// 1 s to 1 min (a deletion of the newest rows is found back to the last anchor before it).
    mutating func readAnchors(_ top: Entries) -> (file: String?, interval: Duration)? {
        var file: String?
        if let node = top["anchors"] {
            guard let path = string(node, "anchors", in: "") else { return nil }
            file = path
        }
        var interval = Config.defaultAnchorInterval
        if top["anchor_interval"] != nil {
            guard let value = duration("anchor_interval", of: top, minimum: .seconds(1), maximum: .seconds(60)) else {
                return nil
            }
            interval = value
        }
        return (file, interval)
    }
}
