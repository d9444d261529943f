// The public API as an application sees it: `import Cairn` only, no @testable.
import Cairn
import CairnTestSupport
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing

@Suite struct PublicAPITests {
    static let logger: Logger = { var l = Logger(label: "api-test"); l.logLevel = .critical; return l }()

    static func transfers(_ db: String) -> Int {
        Int(Shell.run(["sqlite3", db, "SELECT count(*) FROM transfers;"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    /// A remote repository through the API: registered with one, backed up and archived; the
    /// database and its repository gone, `restore(fromRemote:)` brings it back from the remote alone.
    @Test func registerWithARemoteAndRestoreFromItAlone() async throws {
        let dir = TempDir()
        let dbPath = dir.file("app.db"), remote = dir.file("offsite")
        Ledger.create(dbPath, filler: 1000)
        var registration = Registration()
        registration.remotes = [remote]
        let db = try await ProtectedDatabase.register(dbPath, registration, logger: Self.logger)
        try await db.backup()
        let hold = WALHold(dbPath)
        Ledger.write(dbPath, 30, seed: 1)
        let end = try await db.archiveLogs()
        hold.release()
        let expected = Self.transfers(dbPath)
        #expect((await db.status()).capturedScn == end)
        for f in [dbPath, dbPath + "-wal", dbPath + "-shm", dir.file(".app.db.cairn-control")] { try? FileManager.default.removeItem(atPath: f) }
        try FileManager.default.removeItem(atPath: db.repositoryPath)
        let r = try await ProtectedDatabase.restore(fromRemote: remote, to: dir.file("back.db"), logger: Self.logger)
        #expect(r.scn == end && r.complete && r.integrityChecked)
        #expect(Self.transfers(dir.file("back.db")) == expected)
    }

    /// Register, back up, capture (a service runs while another process writes), archive,
    /// restore to the latest point and to an SCN in the middle, validate: each is one
    /// `await`, with progress reported to a handler.
    @Test func registerBackupArchiveRestoreAndValidate() async throws {
        let dir = TempDir()
        let dbPath = dir.file("app.db")
        Ledger.create(dbPath, filler: 3000)
        let db = try await ProtectedDatabase.register(dbPath, logger: Self.logger)
        #expect(db.dbid != 0)
        let reports = Mutex<[OperationProgress]>([])
        let b = try await db.backup(BackupRequest(tag: "first")) { p in reports.withLock { $0.append(p) } }
        #expect(b.level == 0 && b.kind == .backupSet && b.tag == "first")
        #expect(reports.withLock { $0.last?.finished == true && $0.last?.operation == "backup" })
        #expect(db.backups().map(\.id) == [b.id])

        let group = ServiceGroup(services: [db.captureService(logger: Self.logger)], logger: Self.logger)
        let capturing = Task { try await group.run() }
        #expect(await Await.eventually(120) { await db.status().captureRunning })
        Ledger.write(dbPath, 50, seed: 1)
        #expect(await Await.eventually(120) { await db.status().capturedScn >= 50 })
        let middle = await db.status().capturedScn
        let countAtMiddle = Self.transfers(dbPath)
        Ledger.write(dbPath, 50, seed: 2)
        await group.triggerGracefulShutdown()
        try await capturing.value
        let end = try await db.archiveLogs()
        #expect(end == middle + 50)

        let latest = try await db.restore(to: dir.file("latest.db"))
        #expect(latest.complete && latest.scn == end && latest.integrityChecked)
        #expect(Self.transfers(dir.file("latest.db")) == Self.transfers(dbPath))
        let past = try await db.restore(to: dir.file("middle.db"), at: .scn(middle))
        #expect(past.scn == middle)
        #expect(Self.transfers(dir.file("middle.db")) == countAtMiddle)
        // The same point read as it was, with no file written.
        let then = try await db.open(asOf: .scn(middle))
        #expect(then.scn == middle)
        let counted = try await then.query("SELECT count(*) AS n FROM transfers")
        #expect(counted.columns == ["n"] && counted.rows == [[.integer(Int64(countAtMiddle))]])
        then.close()
        // A clone as of the same point: a database of its own, registered with its own repository.
        let clone = try await db.clone(to: dir.file("clone.db"), at: .scn(middle), register: true)
        #expect(clone.scn == middle && clone.dbid != db.dbid && clone.sourceDbid == db.dbid && clone.backupId != nil)
        #expect(Self.transfers(dir.file("clone.db")) == countAtMiddle)
        #expect(try await ProtectedDatabase.open(dir.file("clone.db"), logger: Self.logger).dbid == clone.dbid)

        let status = await db.status()
        #expect(status.capturedScn == end && status.archiveLog && status.backups == 1 && status.lastBackupId == b.id)
        let v = try await db.validate()
        #expect(v.count == 1 && v.allSatisfy(\.valid))
        let reopened = try await ProtectedDatabase.open(dbPath, logger: Self.logger)
        #expect(reopened.dbid == db.dbid)
    }

    /// A cancelled task stops its backup at the next block: the error's code is `cancelled`,
    /// nothing is recorded, and no partial backup is left in the repository.
    @Test func cancellingTheTaskStopsABackupAndLeavesNothing() async throws {
        let dir = TempDir()
        let dbPath = dir.file("big.db")
        Ledger.create(dbPath, filler: 200_000)
        let db = try await ProtectedDatabase.register(dbPath, logger: Self.logger)
        // The backup's own progress report cancels it (from the thread that reports), so the
        // cancellation does not wait for a cooperative thread that other tests may keep busy.
        let running = Mutex<Task<BackupSummary, any Error>?>(nil)
        let task = Task {
            try await db.backup(BackupRequest(compressionLevel: 19)) { _ in running.withLock { $0?.cancel() } }
        }
        running.withLock { $0 = task }
        let result = await task.result
        guard case let .failure(error as CairnError) = result else {
            Issue.record("the backup was not cancelled: \(result)"); return
        }
        #expect(error.code == .cancelled)
        #expect(db.backups().isEmpty)
        let left = (try? FileManager.default.contentsOfDirectory(atPath: db.repositoryPath + "/backups")) ?? []
        #expect(left.isEmpty, "left in backups/: \(left)")
        // The repository is usable at once: the next backup succeeds.
        _ = try await db.backup()
    }

    /// Capture as a swift-service-lifecycle service: every commit another process makes
    /// while it runs is captured; a graceful shutdown captures and archives everything first.
    @Test func captureServiceRunsInAServiceGroupAndDrainsOnShutdown() async throws {
        let dir = TempDir()
        let dbPath = dir.file("svc.db")
        Ledger.create(dbPath, filler: 500)
        let db = try await ProtectedDatabase.register(dbPath, logger: Self.logger)
        try await db.backup()
        let group = ServiceGroup(services: [db.captureService(logger: Self.logger)], logger: Self.logger)
        let running = Task { try await group.run() }
        #expect(await Await.eventually(120) { await db.status().captureRunning })
        Ledger.write(dbPath, 120, seed: 3)
        await group.triggerGracefulShutdown()
        try await running.value
        let status = await db.status()
        #expect(!status.captureRunning)
        #expect(status.archivedScn == status.capturedScn && status.capturedScn >= 120)
        let r = try await db.restore(to: dir.file("restored.db"))
        #expect(r.complete)
        #expect(Self.transfers(dir.file("restored.db")) == Self.transfers(dbPath))
    }

    /// Errors carry a stable code, the file concerned and a structured remedy.
    @Test func errorsHaveCodesPathsAndRemedies() async throws {
        let dir = TempDir()
        let dbPath = dir.file("loose.db")
        Ledger.create(dbPath, filler: 10)
        do {
            _ = try await ProtectedDatabase.open(dbPath, logger: Self.logger)
            Issue.record("opened an unregistered database")
        } catch {
            #expect(error.code == .registration)
            #expect(error.path?.hasSuffix("loose.db") == true)
            #expect(error.remedy?.action == .register(database: error.path ?? ""))
            #expect(error.message.contains("loose.db"))
        }
        do {
            _ = try await ProtectedDatabase.register(dbPath, Registration(logSizeBytes: 1000), logger: Self.logger)
            Issue.record("registered with a 1000-byte online log")
        } catch {
            #expect(error.code == .invalidRequest)
            #expect(error.message == "logSizeBytes 1000 bytes: must be at least 8K.", "\(error.message)")
        }
        let db = try await ProtectedDatabase.register(dbPath, logger: Self.logger)
        do {
            _ = try await db.restore(to: dir.file("x.db"))
            Issue.record("restored without a backup")
        } catch {
            #expect(error.code == .notFound)
            #expect(error.remedy?.action == .takeLevel0Backup(database: db.databasePath))
        }
        do {
            _ = try await db.restore(to: dbPath)
            Issue.record("restored over the live database")
        } catch {
            #expect(error.code == .invalidRequest)
        }
    }
}
