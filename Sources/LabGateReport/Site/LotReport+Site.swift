import Foundation
import LabGate
import SiteStore

extension LotReport {
    /// Gathers the report from the site store: the lot's whole record across every gateway that
    /// held it, through the same plan and channel figures as a gateway's own store. The path is
    /// the site's (`SitePath.fold`): readings a gateway tagged with the lot count only inside
    /// its site-level placement there. A gateway whose forwarding lags behind the end of its
    /// placements is named (its record is incomplete there); each gateway's chains are checked
    /// at the site (`SiteChainCheck`).
    public static func gather(
        lot: String, site source: SiteLotSource, config: Config?, columns: Int = 1200, now: Date = Date()
    ) async throws -> LotReport {
        let site = try await sitePlan(lot: lot, source: source, config: config, now: now)
        let (path, planned, lotSets, seriesOf) = (site.path, site.planned, site.lotSets, site.seriesOf)
        let plan = Plan(placements: planned, lotSets: "", lotSetIDs: [])
        let gatewayOf = path.map(\.gateway)
        let channels = try await plan.channelReports(columns: columns) { slot, job, placement in
            guard let p = plan.placements.firstIndex(where: { $0.start == placement.start && $0.placement == placement.placement })
            else { return SeriesData() }
            let gateway = gatewayOf[p]
            let rows = try await source.readings(
                gateway: gateway, series: job.series, from: placement.start, to: placement.until,
                lotSets: lotSets[gateway] ?? [], slot: slot)
            var data = SeriesData(times: rows.times, values: rows.values)
            let qualities = Quality.allCases
            data.qualities = rows.qualities.map { qualities.indices.contains(Int($0)) ? qualities[Int($0)] : .badResponse }
            return data
        }
        let placements = zip(zip(path, planned), channels).map { pair, channels in
            let (site, planned) = pair
            var report = PlacementReport(
                device: site.placement.device, spec: site.placement.spec,
                start: Date(millisecondsSince1970: planned.start), end: site.placement.end.map(Date.init(millisecondsSince1970:)),
                until: Date(millisecondsSince1970: planned.until), startedBy: site.placement.startedBy,
                endedBy: site.placement.endedBy, correctedBy: site.placement.correctedBy, channels: channels.compactMap { $0 })
            report.gateway = site.gateway
            report.endedByGateway = site.endedByGateway
            return report
        }

        // Deviations, audit entries and signatures from every gateway.
        let deviations = try await source.deviations(lot: lot)
        let ids = deviations.map(\.record.id)
        var objects = ["lot \(lot)"] + ids.map { "deviation \($0)" }
        objects += Set(path.flatMap { site in
            (seriesOf[site.gateway + "\u{0}" + site.placement.device] ?? []).map { "series \(site.placement.device) \($0.channel)" }
        }).sorted()
        let audit = try await source.audit(objects: objects).map(\.entry)
        let signatures = try await source.signatures(lot: lot, deviations: ids).map(\.signature)

        // Integrity: each gateway's chains at the site; completeness: how far each gateway forwarded.
        let chains = try await source.chains()
        let held = Array(Set(path.map(\.gateway))).sorted()
        var records: [GatewayRecord] = []
        var problems: [String] = []
        for gateway in held {
            let series = Set(path.filter { $0.gateway == gateway }.flatMap { site in
                (seriesOf[gateway + "\u{0}" + site.placement.device] ?? []).map(\.id)
            })
            let forwarded = try await source.forwarded(gateway: gateway, series: Array(series).sorted())
            let chain = chains.gateways.first { $0.id == gateway }
            var record = GatewayRecord(
                id: gateway, forwardedUntil: forwarded.newest.map(Date.init(millisecondsSince1970:)), lastForward: forwarded.lastForward,
                incomplete: nil, auditEntries: chain?.audit ?? 0, seals: chain?.seals ?? 0)
            // The end of the lot's record there: its placements' ends (now for one still open),
            // less the poll interval twice over (the newest poll may not be due yet).
            let ends = zip(path, planned).filter { $0.0.gateway == gateway }.map { site, planned in
                planned.until - Int64(2_000 * (planned.channels.map { $0.definition.every ?? 0 }.max() ?? 0)) - 10_000
            }
            if let end = ends.max(), (forwarded.newest ?? .min) < end {
                let until = forwarded.newest.map { UTCTime.format(milliseconds: $0) } ?? "nothing"
                record.incomplete = "gateway \(gateway) has forwarded the lot's readings up to \(until) only: the record is incomplete there"
            }
            records.append(record)
            problems += chains.findings.filter { $0.hasPrefix("gateway \(gateway):") }
        }
        var report = LotReport(
            lot: lot, generated: now, site: config?.site, store: source.url, placements: placements,
            deviations: deviations.map(\.record), audit: audit,
            integrity: Integrity(
                ok: problems.isEmpty, problems: problems, auditEntries: Int(records.reduce(0) { $0 + $1.auditEntries }),
                readingsChecked: 0, sealsInChain: Int(records.reduce(0) { $0 + $1.seals }), sealsChecked: 0,
                auditHead: FieldDigest.zero, auditHeadSeq: 0, readingSealHead: FieldDigest.zero))
        report.signatures = signatures
        report.gateways = records
        report.summary = report.makeSummary()
        return report
    }

    /// The site's path of the lot, each placement with its device's channels on its gateway.
    struct SitePlan {
        var path: [SitePlacement]
        var planned: [Plan.PlannedPlacement]
        var lotSets: [String: [Int64]]
        var seriesOf: [String: [(id: Int64, channel: String)]]
    }

    static func sitePlan(lot: String, source: SiteLotSource, config: Config?, now: Date) async throws -> SitePlan {
        let events = try await source.events(lot: lot)
        guard !events.isEmpty else { throw NotFound(description: "no lot '\(lot)' in the site store \(source.url)") }
        let path = SitePath.fold(events)
        let lotSets = try await source.lotSets(lot: lot)
        let nowMS = now.millisecondsSince1970

        // Each gateway's devices, series and recorded definitions.
        var seriesOf: [String: [(id: Int64, channel: String)]] = [:]
        for key in Set(path.map { $0.gateway + "\u{0}" + $0.placement.device }) {
            let parts = key.split(separator: "\u{0}", maxSplits: 1).map(String.init)
            seriesOf[key] = try await source.series(gateway: parts[0], device: parts[1])
        }
        var histories: [String: DefinitionHistory] = [:]
        for gateway in Set(path.map(\.gateway)) {
            let here = path.filter { $0.gateway == gateway }
            let series = Set(here.map(\.placement.device)).flatMap { device in
                (seriesOf[gateway + "\u{0}" + device] ?? []).map { (device: device, channel: $0.channel) }
            }
            histories[gateway] = try await source.definitions(
                gateway: gateway, series: series, specs: Array(Set(here.map(\.placement.spec))))
        }
        let planned = path.map { site in
            let placement = site.placement
            let until = placement.end ?? max(nowMS, placement.start)
            let channels = (seriesOf[site.gateway + "\u{0}" + placement.device] ?? []).map { series in
                ChannelJob(series: series.id, channel: series.channel, definition: ChannelDefinition(
                    device: placement.device, channel: series.channel, spec: placement.spec, from: placement.start, to: until,
                    history: histories[site.gateway] ?? DefinitionHistory(), config: config))
            }
            return Plan.PlannedPlacement(placement: placement, start: placement.start, until: until, channels: channels)
        }
        return SitePlan(path: path, planned: planned, lotSets: lotSets, seriesOf: seriesOf)
    }
}
