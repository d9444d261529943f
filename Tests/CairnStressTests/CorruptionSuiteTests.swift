@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
import Foundation
import Testing

/// Random damage to every kind of file Cairn writes — bit flips, truncations, deletions and
/// swaps in backup pieces, manifests, archived logs and control-file copies. Every one must
/// be detected (an error naming the file, or a complete recovery that stops short and names
/// the log) or repaired (control copies); a recovery that says it is complete must give
/// exactly the right database. `CAIRN_CORRUPTION_TRIALS` sets the count
/// (a small one by default, for CI).
@Suite struct CorruptionSuiteTests {
    enum Mutation: CaseIterable { case flip, truncate, delete, swap }

    @Test func randomDamageIsAlwaysDetectedNeverAWrongDatabase() throws {
        let trials = Int(ProcessInfo.processInfo.environment["CAIRN_CORRUPTION_TRIALS"] ?? "") ?? 40
        let dir = TempDir()
        let db = dir.file("app.db")
        Ledger.create(db, filler: 3000)
        var redo = RedoOptions()
        redo.logSizeBytes = 8 << 10
        redo.groups = 8
        let p = try Catalog.initialize(database: db, redo: redo, logger: quietLogger)
        try p.backup(.quiet { $0.maxPieceSize = 64 << 10 })
        let hold = WALHold(db)
        Ledger.write(db, 60, seed: 5)
        _ = try p.archiveOnce()
        hold.release()
        let expected = try ContentDigest.compute(db)
        let backupDir = p.layout.root + "/" + p.backups[0].directory
        let archive = p.layout.archiveDirectory
        // Online copies of the logs would stand in for damaged archives: remove them.
        for g in p.control.redo.groups { for m in p.control.redo.memberPaths(group: g.number) { FileSystem.removeFile(m) } }
        let targets = FileSystem.list(backupDir).map { backupDir + "/" + $0 }
            + FileSystem.list(archive).map { archive + "/" + $0 }
            + p.control.controlCopies
        let pristine = try Dictionary(uniqueKeysWithValues: targets.map { ($0, try FileSystem.readAll($0)) })
        var rng = TestSeed().rng
        var detected = 0, repaired = 0, harmless = 0, wrong = 0
        for trial in 0..<trials {
            let victim = targets.randomElement(using: &rng)!
            let mutation = Mutation.allCases.randomElement(using: &rng)!
            var bytes = pristine[victim]!
            var other: String?
            switch mutation {
            case .flip:
                let i = Int.random(in: 0..<bytes.count, using: &rng)
                bytes[i] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
            case .truncate:
                bytes.removeLast(Int.random(in: 1...max(1, bytes.count - 1), using: &rng))
            case .delete:
                break
            case .swap:
                // With a file of the same directory when there is one (pieces, logs), else any.
                let near = targets.filter { $0 != victim && FileSystem.parent(of: $0) == FileSystem.parent(of: victim) }
                other = (near.isEmpty ? targets.filter { $0 != victim } : near).randomElement(using: &rng)
            }
            chmod(victim, 0o644)
            if mutation == .delete {
                FileSystem.removeFile(victim)
            } else if let o = other {
                try FileSystem.atomicWrite(pristine[o]!, to: victim)
                try FileSystem.atomicWrite(pristine[victim]!, to: o)
            } else {
                try FileSystem.atomicWrite(bytes, to: victim)
            }
            let name = (victim as NSString).lastPathComponent
            let out = dir.file("trial-\(trial).db")
            do throws(EngineError) {
                let opened = try Catalog.open(database: db, logger: quietLogger)
                if !opened.warnings.isEmpty {
                    repaired += 1
                } else {
                    let r = try opened.recover(to: out, target: .complete)
                    if let short = r.shortfall {
                        // Complete recovery stopped before a damaged log and said which one.
                        #expect(short.reason.contains(name) || short.reason.contains("sequence"),
                                "trial \(trial): \(mutation) of \(name): the shortfall does not name it: \(short.summary)")
                        #expect(!r.complete && Ledger.check(out).total == Ledger.accounts * 1000)
                        detected += 1
                    } else if try ContentDigest.compute(out) == expected {
                        // Only damage that changes nothing Cairn reads may pass unnoticed.
                        harmless += 1
                        #expect(other != nil && pristine[other!]! == pristine[victim]!, "trial \(trial): \(mutation) of \(name) went unnoticed")
                    } else {
                        wrong += 1
                        Issue.record("trial \(trial): \(mutation) of \(name) gave a wrong database")
                    }
                }
            } catch {
                let e = error
                let named = e.description.contains(name) || (other.map { e.description.contains(($0 as NSString).lastPathComponent) } ?? false)
                    || e.description.contains("sequence")
                #expect(named, "trial \(trial): \(mutation) of \(name): the error does not name it: \(e.description)")
                #expect(!FileSystem.exists(out))
                detected += 1
            }
            // Restore every file for the next trial.
            for (path, content) in pristine {
                if (try? FileSystem.readAll(path)) != content { FileSystem.removeFile(path); try FileSystem.atomicWrite(content, to: path) }
            }
        }
        print("corruption suite: \(trials) trials, \(detected) detected, \(repaired) repaired, \(harmless) harmless, \(wrong) wrong databases")
        #expect(wrong == 0)
        #expect(detected + repaired + harmless == trials)
    }
}
