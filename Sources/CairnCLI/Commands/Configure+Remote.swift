import Foundation
import CairnFormats
import CairnCatalog
import CairnEngines

extension Configure {
    /// `configure DB remote add|remove|list|sync [URL]`.
    func configureRemote(_ p: Catalog) throws(EngineError) {
        let usage = "Usage: cairn configure DB remote add URL [--remote-mode sync|async] | remove URL | list | sync [URL]"
        guard let action = values.first else { throw .invalidArgument(usage) }
        let url = values.dropFirst().first
        switch (action, values.count) {
        case ("add", 2):
            let r = try p.addRemote(url!, mode: remoteMode)
            let report = p.shipToRemotes(after: "the repository")
            if !json { print("remote \(r.root(dbid: p.control.dbid)) added (\(r.mode.rawValue)); \(report.stored) file(s) copied there now") }
        case ("remove", 2):
            try p.removeRemote(url!)
            if !json { print("remote \(url!) removed; nothing more is copied there, and what it holds stays") }
        case ("sync", 1...2):
            let report = p.syncRemotes(only: url, monitor: TerminalProgress.monitor())
            if json { Output.json(SyncResult(report: report, remotes: p.remoteLag)); return }
            print("\(report.stored) file(s) copied, \(report.removed) removed")
            for f in report.failures { print("failed: \(f)") }
            if !report.failures.isEmpty { throw .objectStore(url: url ?? "remotes", problem: "\(report.failures.count) remote(s) could not be brought up to date (see above); they are tried again by `cairn archive --follow` and the next backup") }
            return
        case ("list", 1):
            break
        default:
            throw .invalidArgument(usage)
        }
        let lag = p.remoteLag
        if json { Output.json(lag); return }
        if action == "list" && lag.isEmpty { print("no remote repository; add one with `cairn configure \(p.databasePath) remote add s3://BUCKET/PREFIX`") }
        if action == "list" { for r in lag { print(RemoteText.line(r)) } }
    }

    struct SyncResult: Encodable {
        let report: RemoteShipper.Report
        let remotes: [RemoteLag]
    }
}
