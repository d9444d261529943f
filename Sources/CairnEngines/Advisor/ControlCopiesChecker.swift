import Foundation
import CairnFormats
import CairnCatalog

/// "control-copies": a copy of the control file is missing, stale (an older update than the
/// newest copy), or damaged or unreadable. The advisor records such a copy without rewriting
/// it (its own update leaves it aside); the repair rewrites every copy from the newest.
struct ControlCopiesChecker: FailureChecker {
    static let checkerName = "control-copies"
    var name: String { Self.checkerName }

    /// A copy that is not as it should be.
    struct Problem {
        let path: String
        let finding: FailureFinding
    }

    /// Reads every copy (each a few kilobytes) and compares their update numbers. Safe under
    /// the control-file lock: it does not go through `Catalog.control`.
    static func inspect(_ copies: [String]) -> [Problem] {
        var read: [(path: String, usn: UInt64?, error: EngineError?)] = []
        for path in copies {
            guard FileSystem.exists(path) else {
                read.append((path, nil, .missingFile(path: path, detail: "control file copy")))
                continue
            }
            do throws(EngineError) {
                let doc = try CheckedDocument.decode(try FileSystem.readAll(path), kind: ControlFileStore.kind,
                                                     maxVersion: FormatVersion.controlFile, file: path)
                _ = try doc.decodeBody(ControlFile.self, file: path)
                read.append((path, doc.usn, nil))
            } catch {
                read.append((path, nil, error))
            }
        }
        guard let newest = read.compactMap(\.usn).max() else { return [] }
        return read.compactMap { r -> Problem? in
            if let usn = r.usn {
                guard usn < newest else { return nil }
                return problem(r.path, "stale", "the control file copy \(r.path) is stale: it holds update \(usn), the newest copy holds \(newest)")
            }
            if case .missingFile? = r.error {
                return problem(r.path, "missing", "the control file copy \(r.path) is missing")
            }
            return problem(r.path, "damaged", "the control file copy \(r.path) is damaged or unreadable: \(r.error?.description ?? "")")
        }
    }

    private static func problem(_ path: String, _ what: String, _ summary: String) -> Problem {
        Problem(path: path, finding: FailureFinding(key: path, priority: .high, summary: summary + "; the other copies carry the control file", affected: path))
    }

    func findings(_ ctx: AdvisorContext) -> [FailureFinding] { Self.inspect(ctx.control.controlCopies).map(\.finding) }

    func options(for f: Failure, _ ctx: AdvisorContext) -> RepairOptions {
        let db = ctx.db, path = f.affected, root = ctx.catalog.layout.root
        // Without the copy beside the database, commands find a repository elsewhere only when told.
        let besideGone = path == RepositoryLayout.besideDatabaseControlCopy(forDatabase: db) && root != RepositoryLayout.defaultRoot(forDatabase: db)
        let repo = besideGone ? " --repo \(root)" : ""
        let manual = [
            "Check the directory of \(path) (mounted, writable, not full).",
            "Any command that updates the control file rewrites every copy from the newest; `cairn repair \(db)\(repo) --failure \(f.id)` does only that.",
        ]
        let copies = ctx.control.controlCopies
        let damaged = Set(Self.inspect(copies).map(\.path))
        let good = copies.filter { $0 != path && !damaged.contains($0) }
        guard let source = good.first else {
            return .manualOnly(manual + ["No good copy is left to rewrite it from: rebuild the control file with `cairn catalog rebuild \(db)`."],
                               because: "no copy of the control file is both current and intact")
        }
        let parent = FileSystem.parent(of: path)
        if FileSystem.exists(parent) && !FileSystem.isDirectory(parent) {
            return .manualOnly(manual, because: "\(parent) is not a directory, so the copy cannot be written there; move what is there away first")
        }
        let catalog = ctx.catalog
        return RepairOptions(manual: manual, automatic: AutomaticRepair(
            action: "rewrite control-file copy",
            description: "rewrite \(path) from the newest intact copy (\(source)), as every control-file update writes every copy") { () throws(EngineError) -> String in
                try catalog.transact { (_: inout ControlFile) throws(EngineError) in }
                guard !ControlCopiesChecker.inspect(catalog.control.controlCopies).contains(where: { $0.path == path }) else {
                    throw .unrecoverable("The control file copy \(path) could not be rewritten (the other copies were): check that its directory \(FileSystem.parent(of: path)) is mounted, writable and not full, then run `cairn repair \(catalog.databasePath)` again.")
                }
                return "rewrote control-file copy \(path) from \(source)"
            })
    }
}
