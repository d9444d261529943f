@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
import Foundation
import Testing

/// A registered ledger database for the recovery advisor's tests, with its repository apart
/// from it (no path of the repository contains the database's path, so a fault rule on the
/// database's path touches nothing else), a level-0 backup, and a capture that can be stood
/// in for: the capture lock held by the test and the database held open, as a running
/// `archive --follow` holds them.
final class AdvisorFixture {
    let dir: TempDir
    let db: String
    let repo: String
    let p: Catalog
    private var seed = 300
    private var lock: CaptureLock?
    private var hold: WALHold?

    /// `members`/`destinations` > 1: online log members and archive destinations in
    /// directories m1…, d1… of the test's directory (otherwise the repository's defaults).
    init(name: String = #function, filler: Int = 300, members: Int = 1, destinations: [String] = [], backup: Bool = true,
         configure: (inout RedoOptions, TempDir) -> Void = { _, _ in }) throws {
        let dir = TempDir(name)
        self.dir = dir
        db = dir.file("live.db")
        repo = dir.file("repo")
        Ledger.create(db, filler: filler)
        var redo = RedoOptions()
        if members > 1 { redo.memberDirectories = (1...members).map { dir.file("m\($0)") } }
        redo.archiveDestinations = destinations.map { dir.file($0) }
        configure(&redo, dir)
        p = try Catalog.initialize(database: db, repository: repo, redo: redo, logger: quietLogger)
        if backup { try p.backup(.quiet()) }
        captureLockFree()
    }

    /// Until no process holds the capture lock: a child another test spawns while this
    /// process captures shares the lock's open file for a moment, until it runs its program.
    func captureLockFree() {
        Await.until(10) { !CaptureLock.isHeld(path: p.layout.captureLockFile) }
    }

    deinit { captureStopped() }

    /// Writes `n` transfer transactions.
    func write(_ n: Int) {
        let r = Shell.run(["sqlite3", "-batch", db], input: "PRAGMA busy_timeout=10000;\n" + Ledger.transferStatements(n, seed: seed).joined(separator: "\n"))
        seed += 1
        precondition(r.status == 0, r.stderr)
    }

    /// Writes `n` transactions and captures and archives them (one log).
    func cycle(_ n: Int) throws {
        let h = WALHold(db)
        defer { h.release() }
        write(n)
        _ = try p.archiveOnce()
        captureLockFree()
    }

    /// Capture as others see a running one: the capture lock held, the database open.
    func captureRunning() throws {
        hold = WALHold(db)
        let path = p.layout.captureLockFile
        var held: CaptureLock?
        Await.until(10) {
            held = try? CaptureLock(path: path)
            return held != nil
        }
        guard let held else { throw EngineError.captureRunning(pid: CaptureLock.holder(path: path), lockFile: path) }
        lock = held
    }

    func captureStopped() {
        lock = nil
        hold?.release()
        hold = nil
        captureLockFree()
    }

    /// The open failures of `checker` in `r`.
    func open(_ r: AdvisorReport, _ checker: String) -> [AdvisedFailure] { r.open.filter { $0.failure.checker == checker } }

    /// The one open failure of `checker` (recording an issue when there is not exactly one).
    func only(_ r: AdvisorReport, _ checker: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> AdvisedFailure {
        let found = open(r, checker)
        try #require(found.count == 1, "\(checker): \(r.open.map { "\($0.failure.checker) \($0.failure.key): \($0.failure.summary)" })", sourceLocation: sourceLocation)
        return found[0]
    }

    /// The failure `id` as the control file keeps it now.
    func recorded(_ id: UInt64) -> Failure? { p.control.failures?.first { $0.id == id } }

    /// Runs the `cairn` executable (with `--repo`: the repository is not the default one).
    func cli(_ args: String...) -> Shell.Output { Shell.run([Paths.cairn] + args + ["--repo", repo]) }

    /// The bytes of every control-file copy (nil for a missing one).
    func controlBytes() -> [[UInt8]?] { p.control.controlCopies.map { try? FileSystem.readAll($0) } }
}
