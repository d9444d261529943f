import Foundation
import CairnFormats

/// One reading of every candidate control-file copy: the newest valid copy of the database
/// the first valid candidate names, copies that belong to another database, and what is
/// wrong with each listed copy that is not the newest (missing, stale or damaged).
struct ControlCopiesRead {
    struct Copy {
        let path: String
        let usn: UInt64
        let content: ControlFile
    }

    private(set) var winner: Copy
    private(set) var foreign: [(path: String, dbid: String)] = []
    /// Listed copies that differ from the winner, with what is wrong (in listing order).
    private(set) var problems: [(path: String, problem: String)] = []

    /// The lock file that control-file updates hold (beside the repository's copy).
    var lockPath: String {
        let copies = winner.content.controlCopies
        let repoCopy = copies.first { $0.hasSuffix("/control/cairn.ctl") } ?? copies.first ?? winner.path
        return FileSystem.parent(of: repoCopy) + "/control.lock"
    }

    private struct Result {
        let path: String
        let doc: CheckedDocument?
        let content: ControlFile?
        let error: EngineError?
    }

    init(candidates: [String], repositoryHint: String?) throws(EngineError) {
        var results: [Result] = []
        func load(_ path: String) {
            let p = FileSystem.absolute(path)
            if results.contains(where: { $0.path == p }) { return }
            results.append(Self.read(p))
        }
        candidates.forEach(load)
        // The first valid candidate (in priority order) decides which database this is;
        // copies that belong to another DBID are reported, never merged.
        guard let first = results.first(where: { $0.content != nil }) else {
            throw Self.unusable(results, repositoryHint: repositoryHint)
        }
        let dbid = first.content!.dbid
        first.content!.controlCopies.forEach(load)
        func best() -> Result { results.filter { $0.content?.dbid == dbid }.max { $0.doc!.usn < $1.doc!.usn }! }
        best().content!.controlCopies.forEach(load)
        let w = best()
        winner = Copy(path: w.path, usn: w.doc!.usn, content: w.content!)
        foreign = results.filter { $0.content != nil && $0.content!.dbid != dbid }.map { ($0.path, $0.content!.dbid) }
        for path in w.content!.controlCopies.map(FileSystem.absolute) {
            guard let r = results.first(where: { $0.path == path }) else { continue }
            if let doc = r.doc {
                if doc.usn < w.doc!.usn { problems.append((path, "stale (update \(doc.usn), newest is \(w.doc!.usn))")) }
            } else if case .missingFile? = r.error {
                problems.append((path, "missing"))
            } else if let e = r.error {
                problems.append((path, e.description))
            }
        }
    }

    private static func read(_ path: String) -> Result {
        guard FileSystem.exists(path) else {
            return Result(path: path, doc: nil, content: nil, error: .missingFile(path: path, detail: "control file copy"))
        }
        do throws(EngineError) {
            let bytes = try FileSystem.readAll(path)
            let doc = try CheckedDocument.decode(bytes, kind: ControlFileStore.kind, maxVersion: FormatVersion.controlFile, file: path)
            let c = try doc.decodeBody(ControlFile.self, file: path)
            return Result(path: path, doc: doc, content: c, error: nil)
        } catch {
            return Result(path: path, doc: nil, content: nil, error: error)
        }
    }

    /// No candidate is valid: not registered (none exists), a newer format, or all damaged.
    private static func unusable(_ results: [Result], repositoryHint: String?) -> EngineError {
        for r in results {
            if case .unsupportedFormat? = r.error { return r.error! }
        }
        let present = results.filter { r in
            if case .missingFile? = r.error { return false }
            return true
        }
        if present.isEmpty { return .notRegistered(database: "", looked: results.map(\.path)) }
        return .controlFileUnusable(copies: present.map(\.path), reasons: present.map { $0.error?.description ?? "" }, repository: repositoryHint)
    }
}
