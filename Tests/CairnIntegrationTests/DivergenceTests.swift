@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
import Foundation
import Testing

/// The live database lost or replaced under a running capture (invariants 1, 3, 4).
@Suite struct DivergenceTests {
    /// Finding: database, -wal and -shm deleted after 200 captured transactions: the worker
    /// aborted with "free(): double free detected", was restarted seven times, SIGTERM ended
    /// with an I/O error, and the 200 transactions stayed unarchived; the default restore
    /// then gave SCN 0 without a word.
    @Test func captureStopsCleanlyWhenTheDatabaseIsDeleted() throws {
        let h = try CaptureHarness(count: 200)
        let follow = h.startFollow()
        #expect(h.wait(20) { h.followLog.contains("capturing") }, "\(h.followLog)")
        h.write(h.script(0..<200, every: 0))
        #expect(h.waitCaptured(200))
        let digest = try ContentDigest.compute(h.db)
        for suffix in ["", "-wal", "-shm"] { unlink(h.db + suffix) }
        #expect(h.wait(15) { !follow.isRunning }, "capture went on after the database was deleted: \(h.followLog)")
        if follow.isRunning { h.stop(follow) }
        follow.waitUntilExit()
        #expect(follow.terminationReason == .exit && follow.terminationStatus != 0)
        let text = h.followLog
        #expect(text.contains("was deleted"), "\(text)")
        #expect(!text.contains("restarting"), "\(text)")
        #expect(!text.contains("double free") && !text.contains("Input/output error"), "\(text)")
        let p = try Catalog.open(database: h.db, logger: quietLogger)
        let st = p.redoStatus
        #expect(st.scn == 200 && st.archivedScn == 200, "captured \(st.scn), archived \(st.archivedScn)")
        #expect(st.captureStopped?.detail.contains("was deleted") == true, "\(String(describing: st.captureStopped))")
        let out = h.dir.file("restored.db")
        let r = Shell.run([Paths.cairn, "restore", h.db, "--to", out])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try ContentDigest.compute(out) == digest)
    }

    /// Finding: 100 transactions captured, then the -wal and -shm deleted under the running
    /// capture (the live database falls back to its last checkpoint) and 50 more written:
    /// capture appended the new WAL's frames to the old history, and `restore --latest`
    /// handed out a database failing integrity_check.
    @Test func aDeletedWALIsAGapNeverAHistoryThatDidNotHappen() throws {
        let h = try CaptureHarness(count: 150)
        let follow = h.startFollow()
        #expect(h.wait(20) { h.followLog.contains("capturing") }, "\(h.followLog)")
        h.write(h.script(0..<100, every: 0))
        #expect(h.waitCaptured(100))
        let before = try h.expectedDigest(after: 100)
        unlink(h.db + "-wal")
        unlink(h.db + "-shm")
        // The application writes on: each sqlite3 process opens the database anew.
        for i in 100..<150 { h.write("PRAGMA busy_timeout=5000;\n" + h.statements[i]) }
        let live = try ContentDigest.compute(h.db)
        #expect(h.wait(20) {
            ((try? Catalog.open(database: h.db, logger: quietLogger))?.control.redo.gaps.count ?? 0) == 1
        }, "no gap was recorded: \(h.followLog)")
        #expect(h.stop(follow) == 0, "\(h.followLog)")
        let p = try Catalog.open(database: h.db, logger: quietLogger)
        let gap = try #require(p.control.redo.gaps.first)
        #expect(gap.scn == 101, "\(gap)")
        #expect(gap.detail.contains("restore") && gap.detail.contains("--scn 100"), "the gap says how to get the lost transactions back: \(gap.detail)")
        // SCN 100 is still exactly the database before the WAL was lost.
        let hundred = h.dir.file("hundred.db")
        _ = try p.recover(to: hundred, target: .scn(100))
        #expect(Ledger.check(hundred).integrity == "ok")
        #expect(try ContentDigest.compute(hundred).digest == before)
        // Nothing past the gap is handed out without a new backup; with one, the latest point is the live database.
        try p.backup(.quiet())
        let latest = h.dir.file("latest.db")
        _ = try p.recover(to: latest, target: .complete)
        #expect(Ledger.check(latest).integrity == "ok")
        #expect(try ContentDigest.compute(latest) == live)
    }

    /// The WAL and its index deleted while nothing writes, so no application creates new ones:
    /// capture does not stop on the missing index (it once exited with "-shm is missing"); its
    /// keeper has SQLite create new files, and capture goes on with them.
    @Test func aDeletedWALWithNobodyToRecreateItIsRecreatedByCapture() throws {
        let h = try CaptureHarness(count: 120)
        let follow = h.startFollow()
        #expect(h.wait(20) { h.followLog.contains("capturing") }, "\(h.followLog)")
        h.write(h.script(0..<100, every: 0))
        #expect(h.waitCaptured(100))
        unlink(h.db + "-wal")
        unlink(h.db + "-shm")
        #expect(h.wait(20) { h.followLog.contains("was replaced") && FileManager.default.fileExists(atPath: h.db + "-shm") },
                "\(h.followLog)")
        #expect(follow.isRunning, "\(h.followLog)")
        for i in 100..<120 { h.write("PRAGMA busy_timeout=5000;\n" + h.statements[i]) }
        let live = try ContentDigest.compute(h.db)
        // The frames the deleted WAL held never reached the database file: a gap, as above.
        #expect(h.wait(20) {
            ((try? Catalog.open(database: h.db, logger: quietLogger))?.control.redo.gaps.count ?? 0) == 1
        }, "no gap was recorded: \(h.followLog)")
        #expect(h.stop(follow) == 0, "\(h.followLog)")
        #expect(!h.followLog.contains("is missing"), "\(h.followLog)")
        let p = try Catalog.open(database: h.db, logger: quietLogger)
        try p.backup(.quiet())
        let latest = h.dir.file("latest.db")
        _ = try p.recover(to: latest, target: .complete)
        #expect(Ledger.check(latest).integrity == "ok")
        #expect(try ContentDigest.compute(latest) == live)
    }

    /// A capture pin on read lock 0 does not stop a restart: the WAL may begin a new generation
    /// between capture's last read and its next move. The pin must not then let the new
    /// generation's frames be copied into the database file before capture has checked the
    /// file against what it captured (found by the crash suite as a false gap: "the database
    /// file no longer holds what was captured").
    @Test func aRestartBetweenCaptureAndPinMoveIsNoGap() throws {
        let (h, capturer) = try Self.capturedThenRestarted()
        try capturer.movePin()
        // An application checkpoint now copies nothing while capture has not read the new WAL.
        Shell.run(["sqlite3", h.db, "PRAGMA wal_checkpoint(PASSIVE);"])
        let index = try #require(capturer.pins.index.read())
        #expect(index.nBackfill == 0, "frames of a generation capture has not checked were copied: \(index)")
        try capturer.step()
        #expect(h.p.control.redo.gaps.isEmpty, "\(h.p.control.redo.gaps)")
        #expect(capturer.scn == 25)
        try capturer.stop()
    }

    /// Capture has checked a new WAL generation but not yet captured one of its commits (its
    /// position is the generation's start): if its pin let the application copy that
    /// generation's frames into the database file now, a successor (this worker killed) would
    /// resume from the last record, of the previous generation, find the file ahead of it and
    /// record a false gap (seen once in 400 crash-suite trials).
    @Test func aCheckedGenerationIsNotCopiedBeforeItsFirstCommitIsLogged() throws {
        let (h, capturer) = try Self.capturedThenRestarted()
        // As after a step that checked the new generation and found no commit yet, with one
        // landing before the pin moves.
        let header = try #require(WALFile.readFrames(path: h.db + "-wal", after: nil) { _ in }.header)
        capturer.position = WALPosition(salt1: header.salt1, salt2: header.salt2, frame: 0,
                                        checksum1: header.checksum.0, checksum2: header.checksum.1)
        try capturer.movePin()
        Shell.run(["sqlite3", h.db, "PRAGMA wal_checkpoint(PASSIVE);"])
        let index = try #require(capturer.pins.index.read())
        #expect(index.nBackfill == 0, "frames of a generation with no commit logged were copied: \(index)")
        try capturer.step()
        #expect(capturer.scn == 25)
        #expect(h.p.control.redo.gaps.isEmpty, "\(h.p.control.redo.gaps)")
        try capturer.stop()
    }

    /// 20 transactions captured and copied (the pin on read lock 0), then the application
    /// restarts the WAL (allowed: everything is captured and copied) and commits 5 more into
    /// the new generation, which capture has not looked at yet.
    static func capturedThenRestarted(_ name: String = #function) throws -> (CaptureHarness, Capturer) {
        let h = try CaptureHarness(name: name, count: 0)
        let capturer = try Capturer(database: h.p, logger: quietLogger)
        Ledger.write(h.db, 20, seed: 3)
        try capturer.step()
        Shell.run(["sqlite3", h.db, "PRAGMA wal_checkpoint(PASSIVE);"])
        try capturer.step()
        #expect(capturer.pins.state == .fileAlone, "\(capturer.pins.state)")
        let truncated = Shell.run(["sqlite3", h.db, "PRAGMA wal_checkpoint(TRUNCATE);"])
        #expect(truncated.stdout.hasPrefix("0|"), "\(truncated)")
        Ledger.write(h.db, 5, seed: 4)
        return (h, capturer)
    }
}
