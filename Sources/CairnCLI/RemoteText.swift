import ArgumentParser
import Foundation
import CairnCatalog
import CairnEngines

extension RemoteRepository.Mode: ExpressibleByArgument {}

/// How a remote repository's state reads on a terminal.
enum RemoteText {
    static func line(_ r: RemoteLag) -> String {
        var parts = ["\(r.root) (\(r.mode))"]
        if r.logsBehind == 0 && r.backupsBehind == 0 && r.catalogCurrent {
            parts.append("up to date, \(r.backupsStored) backup(s)")
        } else {
            parts.append("behind by \(r.logsBehind) log(s), \(r.backupsBehind) backup(s)\(r.catalogCurrent ? "" : ", the catalog") (\(Output.bytes(r.bytesBehind)), oldest \(Int(r.lagSeconds)) s)")
        }
        if let e = r.lastError { parts.append("last error: \(e)") }
        return parts.joined(separator: "; ")
    }
}
