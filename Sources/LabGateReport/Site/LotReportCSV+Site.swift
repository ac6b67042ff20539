import Foundation
import LabGate
import SiteStore

extension LotReportCSV {
    /// The site report's CSV: every reading of the lot on every gateway that held it, inside the
    /// site-level placements, in the columns of a gateway's own CSV.
    public static func write(
        lot: String, site source: SiteLotSource, config: Config?, now: Date = Date(), to write: (Data) -> Void
    ) async throws {
        let plan = try await LotReport.sitePlan(lot: lot, source: source, config: config, now: now)
        let qualities = Quality.allCases
        var buffer = header
        for (site, planned) in zip(plan.path, plan.planned) {
            var fields: [String: FieldSchedule] = [:]
            for job in planned.channels { fields[job.channel] = FieldSchedule(job.definition, from: planned.start) }
            let device = site.placement.device
            try await source.readingRows(
                gateway: site.gateway, device: device, from: planned.start, to: planned.until,
                lotSets: plan.lotSets[site.gateway] ?? []
            ) { time, channel, value, quality, detail in
                let field = fields[channel]?.at(time)
                let cells = [
                    UTCTime.format(milliseconds: time), device, channel,
                    value.map { field?.resolution?.text($0) ?? String($0) } ?? "", field?.unit ?? "",
                    qualities.indices.contains(Int(quality)) ? qualities[Int(quality)].rawValue : "?", detail ?? "",
                ]
                buffer += cells.map(cell).joined(separator: ",") + "\n"
                if buffer.utf8.count > 1 << 20 {
                    write(Data(buffer.utf8))
                    buffer = ""
                }
            }
        }
        write(Data(buffer.utf8))
    }
}
