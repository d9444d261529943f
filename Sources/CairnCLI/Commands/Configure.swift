import ArgumentParser
import Foundation
import CairnFormats
import CairnCatalog
import CairnEngines

struct Configure: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Set the retention policy and the recovery-area size limit, or show them.",
        discussion: """
        cairn configure DB retention redundancy N   keep the N newest level-0 backups
        cairn configure DB retention window DAYS    keep what recovery to any point of the last DAYS days needs
        cairn configure DB retention none           nothing is ever obsolete
        cairn configure DB recovery-area-size SIZE  limit the repository to SIZE (e.g. 20G), or `unlimited`
        cairn configure DB remote add URL [--remote-mode sync|async]
                                                    copy every log, backup and catalog to URL (s3://BUCKET/PREFIX)
        cairn configure DB remote remove URL        stop copying there (what is there stays)
        cairn configure DB remote list [--json]     the remotes and how far behind each is
        cairn configure DB remote sync [URL]        copy now what the remotes lack
        cairn configure DB pdic-time-zone ZONE      days of the periodic integrity check as ZONE has them (e.g. Europe/Berlin), or `system`
        cairn configure DB snapshot daily [--at HH:MM] [--keep N]
                                                    an automatic snapshot each day at HH:MM local time (default 00:00), the N newest kept (default 1)
        cairn configure DB snapshot off             no automatic snapshot (those made stay until dropped)
        cairn configure DB show [--json]            the current settings
        cairn configure DB encryption enable --key-file FILE | rotate --new-key-file FILE | show
        """)

    @OptionGroup var db: DatabaseOptions
    @OptionGroup var waiting: WaitOptions
    @OptionGroup var encryptionSetting: ConfigureEncryptionOptions

    @Argument(help: "retention, recovery-area-size or show.")
    var setting: String

    @Argument(help: "The new value (see above).")
    var values: [String] = []

    @Flag(help: "Print the settings as JSON.")
    var json = false

    @Option(help: "With `snapshot daily`: the local time of day, HH:MM.")
    var at: String = "00:00"

    @Option(help: "With `snapshot daily`: how many automatic snapshots to keep.")
    var keep: Int = 1

    @Option(name: .customLong("remote-mode"), help: "With `remote add`: sync (the remote's archive counts toward min-succeed) or async (filled behind local archiving).")
    var remoteMode: RemoteRepository.Mode = .async

    struct Settings: Encodable {
        let retention: String
        let redundancy: Int?
        let windowDays: Double?
        let recoveryArea: String
        let recoveryAreaLimit: UInt64?
        let warningPercent: Int
        let restorePoints: Int
        let pdicTimeZone: String
        let dailySnapshot: DailySnapshot?
    }

    func run() throws {
        try reporting { () throws(EngineError) in
            let p = try db.open(waiting)
            switch setting {
            case "retention":
                try p.setRetention(try parseRetention())
            case "recovery-area-size":
                guard values.count == 1 else {
                    throw .invalidArgument("Usage: cairn configure DB recovery-area-size SIZE|unlimited (e.g. 20G).")
                }
                if values[0].lowercased() == "unlimited" {
                    try p.setRecoveryAreaLimit(nil)
                } else {
                    guard let n = Output.parseSize(values[0]) else {
                        throw .invalidArgument("recovery-area-size '\(values[0])' is not a size; use bytes or a suffix, e.g. 500M or 20G, or 'unlimited'.")
                    }
                    try p.setRecoveryAreaLimit(n)
                }
            case "pdic-time-zone":
                guard values.count == 1 else { throw .invalidArgument("Usage: cairn configure DB pdic-time-zone ZONE|system (e.g. Europe/Berlin).") }
                try p.setIntegrityCheckTimeZone(values[0] == "system" ? nil : values[0])
            case "snapshot":
                switch values.first {
                case "daily" where values.count == 1: try p.configureDailySnapshot(try DailySnapshot(at: at, keep: keep))
                case "off" where values.count == 1: try p.configureDailySnapshot(nil)
                default: throw .invalidArgument("Usage: cairn configure DB snapshot daily [--at HH:MM] [--keep N] | off.")
                }
            case "remote":
                return try configureRemote(p)
            case "encryption":
                return try encryptionSetting.run(p, values: values)
            case "show":
                guard values.isEmpty else { throw .invalidArgument("`configure DB show` takes no value.") }
            default:
                throw .invalidArgument("Unknown setting '\(setting)': use retention, recovery-area-size, pdic-time-zone, snapshot, remote or show (see `cairn configure --help`).")
            }
            let c = p.control
            let s = Settings(retention: Obsolescence.describe(c.policy.retention), redundancy: c.policy.redundancy,
                             windowDays: c.policy.windowDays, recoveryArea: p.layout.root, recoveryAreaLimit: c.policy.recoveryAreaLimit,
                             warningPercent: Int(Policy.warningFraction * 100), restorePoints: c.restorePoints.count,
                             pdicTimeZone: p.integrityCheckSchedule.timeZone.identifier, dailySnapshot: c.policy.dailySnapshot)
            if json { Output.json(s); return }
            print("retention      \(s.retention)")
            print("recovery area  \(s.recoveryArea), limit \(s.recoveryAreaLimit.map(Output.bytes) ?? "unlimited") (warning at \(s.warningPercent) %)")
            print("pdic days      as \(s.pdicTimeZone) has them")
            print("snapshot       " + (s.dailySnapshot.map { "daily at \($0.at) (local time), the \($0.keep) newest kept" } ?? "none automatic"))
        }
    }

    func parseRetention() throws(EngineError) -> Policy.Retention {
        let usage = "Usage: cairn configure DB retention redundancy N | window DAYS | none"
        guard let kind = values.first else { throw .invalidArgument(usage) }
        switch (kind, values.count) {
        case ("none", 1):
            return .none
        case ("redundancy", 2):
            guard let n = Int(values[1]) else { throw .invalidArgument("retention redundancy '\(values[1])' is not a whole number. \(usage)") }
            return .redundancy(n)
        case ("window", 2):
            guard let d = Double(values[1]) else { throw .invalidArgument("retention window '\(values[1])' is not a number of days. \(usage)") }
            return .window(days: d)
        default:
            throw .invalidArgument(usage)
        }
    }
}
