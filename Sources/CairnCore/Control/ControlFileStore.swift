import Foundation
import Logging

/// Reads and writes the multiplexed control file.
///
/// Every copy holds the whole document with an update sequence number (USN) and checksum.
/// An update writes each copy atomically (temporary file, fsync, rename, fsync of the
/// directory). On open the valid copy with the highest USN wins; stale or damaged copies are
/// rewritten from it with a warning.
public struct ControlFileStore: Sendable {
    public static let kind = "control"
    public let copies: [String]
    public private(set) var usn: UInt64
    public private(set) var content: ControlFile
    /// Warnings produced while opening (stale or corrupt copies that were repaired).
    public private(set) var warnings: [String] = []

    /// Creates the first version of the control file in every location.
    public static func create(_ content: ControlFile) throws(CairnError) -> ControlFileStore {
        var store = ControlFileStore(copies: content.controlCopies, usn: 0, content: content)
        try store.write(content)
        return store
    }

    private init(copies: [String], usn: UInt64, content: ControlFile) {
        self.copies = copies
        self.usn = usn
        self.content = content
    }

    /// Opens from the candidate locations (plus every location the winning copy lists).
    /// Throws `notRegistered` when no candidate exists and `controlFileUnusable` when every
    /// existing copy is damaged.
    public static func open(candidates: [String], repositoryHint: String?, logger: Logger) throws(CairnError) -> ControlFileStore {
        var seen: [String] = []
        var results: [(path: String, doc: CheckedDocument?, content: ControlFile?, error: String?)] = []
        func load(_ path: String) {
            let p = FileSystem.absolute(path)
            if seen.contains(p) { return }
            seen.append(p)
            guard FileSystem.exists(p) else { results.append((p, nil, nil, "missing")); return }
            do throws(CairnError) {
                let bytes = try FileSystem.readAll(p)
                let doc = try CheckedDocument.decode(bytes, kind: kind, maxVersion: FormatVersion.controlFile, file: p)
                let c = try doc.decodeBody(ControlFile.self, file: p)
                results.append((p, doc, c, nil))
            } catch {
                if case .unsupportedFormat = error { results.append((p, nil, nil, "unsupported:" + error.description)) }
                else { results.append((p, nil, nil, error.description)) }
            }
        }
        candidates.forEach(load)
        // Include every location the newest valid copy lists.
        if let best = results.filter({ $0.content != nil }).max(by: { $0.doc!.usn < $1.doc!.usn }) {
            best.content!.controlCopies.forEach(load)
        }
        let valid = results.filter { $0.content != nil }
        guard let winner = valid.max(by: { $0.doc!.usn < $1.doc!.usn }) else {
            if let newer = results.first(where: { $0.error?.hasPrefix("unsupported:") == true }) {
                throw .invalidArgument(String(newer.error!.dropFirst("unsupported:".count)))
            }
            let present = results.filter { $0.error != "missing" }
            if present.isEmpty {
                throw .notRegistered(database: "", looked: results.map(\.path))
            }
            throw .controlFileUnusable(copies: present.map(\.path), reasons: present.map { $0.error ?? "" }, repository: repositoryHint)
        }
        var store = ControlFileStore(copies: winner.content!.controlCopies, usn: winner.doc!.usn, content: winner.content!)
        // Repair copies that are missing, stale or damaged.
        let encoded = CheckedDocument.make(store.content, kind: kind, version: FormatVersion.controlFile, usn: store.usn).encoded()
        for path in store.copies.map(FileSystem.absolute) {
            guard let r = results.first(where: { $0.path == path }) else { continue }
            let problem: String?
            if let doc = r.doc { problem = doc.usn < store.usn ? "stale (update \(doc.usn), newest is \(store.usn))" : nil }
            else { problem = r.error }
            guard let problem else { continue }
            do throws(CairnError) {
                try FileSystem.makeDirectories(FileSystem.parent(of: path))
                try FileSystem.atomicWrite(encoded, to: path)
                let msg = "control file copy \(path) was \(problem); rewritten from \(winner.path)"
                logger.warning("\(msg)")
                store.warnings.append(msg)
            } catch {
                let msg = "control file copy \(path) is \(problem) and could not be rewritten: \(error)"
                logger.warning("\(msg)")
                store.warnings.append(msg)
            }
        }
        return store
    }

    /// Writes a new version to every copy. Succeeds when at least one copy was written;
    /// copies that failed are reported and repaired on the next open.
    public mutating func write(_ newContent: ControlFile, logger: Logger? = nil) throws(CairnError) {
        var c = newContent
        c.updatedAt = Date()
        let nextUSN = usn + 1
        let encoded = CheckedDocument.make(c, kind: Self.kind, version: FormatVersion.controlFile, usn: nextUSN).encoded()
        var failures: [(String, CairnError)] = []
        for path in copies {
            do throws(CairnError) {
                try FileSystem.makeDirectories(FileSystem.parent(of: path))
                try FileSystem.atomicWrite(encoded, to: path)
            } catch {
                failures.append((path, error))
                logger?.warning("could not update control file copy \(path): \(error)")
            }
        }
        if failures.count == copies.count, let first = failures.first {
            throw first.1
        }
        usn = nextUSN
        content = c
    }

    public mutating func update(logger: Logger? = nil, _ change: (inout ControlFile) throws(CairnError) -> Void) throws(CairnError) {
        var c = content
        try change(&c)
        try write(c, logger: logger)
    }
}
