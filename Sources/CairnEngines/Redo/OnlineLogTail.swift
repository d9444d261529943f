import CairnFormats
import CairnCatalog

/// The last transaction captured into the current online log, read by processes other than
/// the capturer (status, backups while capture runs elsewhere).
enum OnlineLogTail {
    struct Tail {
        let scn: UInt64
        let position: WALPosition
        let sequence: UInt64
    }

    /// The newest complete record in any online log of the current incarnation (whatever the
    /// group states say, which may be behind the capture process), or the capture point when
    /// there is none.
    static func read(_ c: ControlFile) -> Tail? {
        OnlineLogScan(control: c).tail(c)
    }
}

extension ControlFile {
    /// The SCN after `commits` more transactions following `base` in the current incarnation
    /// (its own SCNs start at its startScn).
    func scn(after base: UInt64, commits: UInt64) -> UInt64 {
        guard commits > 0 else { return base }
        let start = incarnation(incarnation)?.startScn ?? 1
        return base < start ? start - 1 + commits : base + commits
    }
}
