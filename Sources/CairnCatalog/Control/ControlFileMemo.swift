import Foundation
import Synchronization

/// The control file each database's copies held when this process last wrote or read them,
/// with the copies' signatures then: another catalog of the same database in this process
/// (the agent keeps several: capture's, the status snapshot's, the jobs') adopts a change made
/// here without reading and decoding the copies again. A control file of many logs takes
/// milliseconds to decode; the agent, which keeps 50 databases written, spent a tenth of its
/// CPU doing it.
///
/// An entry is used only when every copy's signature is still the one it was made with, so
/// it always holds what the copies hold. One entry per set of copies (the last version), so
/// the memo holds at most the control files of the databases this process opened, shared
/// with the catalogs that hold them.
final class ControlFileMemo: Sendable {
    static let shared = ControlFileMemo()

    private struct Entry {
        let signatures: [ControlCopySignature?]
        let usn: UInt64
        let content: ControlFile
    }

    private let entries = Mutex<[[String]: Entry]>([:])

    /// `copies` hold version `usn`, `content`, as long as their signatures are `signatures`.
    func remember(_ copies: [String], signatures: [ControlCopySignature?], usn: UInt64, content: ControlFile) {
        guard signatures.contains(where: { $0 != nil }) else { return }
        entries.withLock { e in
            // A reader that looked before a writer of this process wrote keeps the newer entry.
            if let old = e[copies], old.usn > usn { return }
            e[copies] = Entry(signatures: signatures, usn: usn, content: content)
        }
    }

    /// What `copies` hold when their signatures are `signatures` and this process knows it.
    func recall(_ copies: [String], signatures: [ControlCopySignature?]) -> (usn: UInt64, content: ControlFile)? {
        entries.withLock { e in
            guard let entry = e[copies], entry.signatures == signatures else { return nil }
            return (entry.usn, entry.content)
        }
    }
}
