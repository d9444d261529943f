import Foundation
import Logging
import ServiceLifecycle
import Testing
@testable import CairnAgent
import CairnCatalog
import CairnEngines
import CairnFormats
import CairnTestSupport

/// The agent's jobs and its answers to bad input: a failing job is retried with backoff and then
/// reported (health, metrics counts); heavy jobs on one disk never overlap; an unwritable
/// repository and an unreachable remote are reported while the other databases run.
@Suite(.serialized) struct AgentJobTests {
    func start(_ yaml: String, in dir: TempDir) async throws -> (AgentService, ServiceGroup, Task<Void, any Error>) {
        let config = dir.file("cairn.yml")
        try yaml.write(toFile: config, atomically: true, encoding: .utf8)
        let (configuration, problems) = try AgentConfiguration.loadForRunning(config)
        #expect(problems.isEmpty, "\(problems)")
        let agent = AgentService(configFile: config, configuration: configuration, problems: problems, logger: quietLogger)
        let group = ServiceGroup(services: [agent], logger: quietLogger)
        return (agent, group, Task(executorPreference: AgentExecutor.shared) { try await group.run() })
    }

    func backedUp(_ agent: AgentService, _ paths: [String]) async -> Bool {
        await Await.eventually(60) {
            let s = await agent.snapshot()
            return paths.allSatisfy { p in s.databases.contains { $0.path == p && !$0.lastBackupAt.isEmpty } }
        }
    }

    @Test func aFailingJobIsRetriedThenReportedAndHeavyJobsOnOneDiskTakeTurns() async throws {
        let dir = TempDir()
        let dbs = (1...3).map { dir.file("d\($0).db") }
        for db in dbs { Ledger.create(db, filler: 2000) }
        let (agent, group, running) = try await start("""
            jobs: {max_concurrent: 3, per_disk: 1, retries: 2, retry_delay: 0.2}
            databases:
            \(dbs.map { "  - path: \($0)" }.joined(separator: "\n"))
            """, in: dir)
        #expect(await backedUp(agent, dbs))
        let targets = try dbs.map { db in try #require(agent.target(db)) }

        // Three level-0 backups queued at once on one disk (once the first ones ended): one at a time.
        #expect(await Await.eventually(30) { targets.allSatisfy { !$0.view.jobs.isEmpty && !$0.view.jobs.contains { $0.outcome == .running } } })
        for t in targets {
            let queued = await agent.runner.enqueue(ScheduledJob(kind: .backup, schedule: try Schedule(parsing: "hourly")), for: t, scheduledAt: Date())
            #expect(queued)
        }
        #expect(await Await.eventually(60) { targets.allSatisfy { $0.view.jobs.filter { $0.kind == "backup-level0" && $0.outcome == .succeeded }.count == 2 } })
        let runs = targets.flatMap { $0.view.jobs.filter { $0.kind == "backup-level0" } }.map { ($0.startedAt, $0.endedAt ?? .distantFuture) }.sorted { $0.0 < $1.0 }
        for (a, b) in zip(runs, runs.dropFirst()) { #expect(a.1 <= b.0, "heavy jobs on one disk overlapped: \(runs)") }

        // A validation that fails (a piece of the backup damaged) is tried 1 + 2 times, then reported.
        let catalog = try Catalog.open(database: dbs[0], logger: quietLogger)
        let piece = try #require(FileManager.default.enumerator(atPath: catalog.layout.root + "/backups")?.compactMap { $0 as? String }.first { $0.hasSuffix(".cbp") || $0.contains("piece") })
        let fd = open(catalog.layout.root + "/backups/" + piece, O_WRONLY)
        _ = pwrite(fd, [UInt8](repeating: 0xEE, count: 64), 64, 200)
        close(fd)
        await agent.runner.enqueue(ScheduledJob(kind: .validate, schedule: try Schedule(parsing: "hourly")), for: targets[0], scheduledAt: Date())
        #expect(await Await.eventually(60) { targets[0].view.failedJobs["validate"] != nil })
        let validations = targets[0].view.jobs.filter { $0.kind == "validate" }
        #expect(validations.map(\.outcome) == [.failed, .retrying, .retrying], "\(validations.map(\.outcome))")
        #expect(validations.map(\.attempt) == [3, 2, 1])
        let s = await agent.snapshot()
        let d = try #require(s.databases.first { $0.path == dbs[0] })
        #expect(d.jobFailures["validate"] == 3 && d.jobRuns["validate"] == 3)
        #expect(d.problems.contains { $0.contains("job validate failed") }, "\(d.problems)")
        #expect(s.databases.filter { $0.path != dbs[0] }.allSatisfy { $0.problems.isEmpty }, "the others stay healthy")

        await group.triggerGracefulShutdown()
        try await running.value
    }

    @Test func anUnwritableRepositoryAndAnUnreachableRemoteAreReportedWhileTheOthersRun() async throws {
        let dir = TempDir()
        let good = dir.file("good.db"), locked = dir.file("locked.db"), remote = dir.file("remote.db")
        for db in [good, locked, remote] { Ledger.create(db, filler: 100) }
        let readOnly = dir.file("ro")
        try FileManager.default.createDirectory(atPath: readOnly, withIntermediateDirectories: true)
        let unreachable = dir.file("remote-target")
        FileManager.default.createFile(atPath: unreachable, contents: Data("a file, not a directory".utf8))
        let (agent, group, running) = try await start("""
            databases:
              - path: \(good)
              - path: \(locked)
                repository: /proc/cairn-agent-test/locked.cairn
              - path: \(remote)
                remotes: [\(unreachable)/copies]
            """, in: dir)
        #expect(await backedUp(agent, [good, remote]))
        #expect(await Await.eventually(30) {
            let s = await agent.snapshot()
            let l = s.databases.first { $0.path == locked }
            let r = s.databases.first { $0.path == remote }
            return l?.state == .failing && !(l?.problems.isEmpty ?? true) && r?.remotes.first?.lastError != nil
        })
        let s = await agent.snapshot()
        let l = try #require(s.databases.first { $0.path == locked })
        #expect(l.problems.contains { $0.contains("/proc/cairn-agent-test") }, "names the repository: \(l.problems)")
        let r = try #require(s.databases.first { $0.path == remote })
        #expect(r.problems.contains { $0.contains("remote") }, "\(r.problems)")
        #expect(r.state == .capturing)
        #expect(s.databases.first { $0.path == good }?.problems.isEmpty == true)
        await group.triggerGracefulShutdown()
        try await running.value
    }

    @Test func aDatabaseThatDisappearsIsReportedAndTheOthersGoOn() async throws {
        let dir = TempDir()
        let stays = dir.file("stays.db"), goes = dir.file("goes.db")
        for db in [stays, goes] { Ledger.create(db, filler: 100) }
        let (agent, group, running) = try await start("""
            databases:
              - path: \(stays)
              - path: \(goes)
            """, in: dir)
        #expect(await backedUp(agent, [stays, goes]))
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: goes + suffix) }
        #expect(await Await.eventually(30) {
            let s = await agent.snapshot()
            return s.databases.first { $0.path == goes }?.problems.contains { $0.contains(goes) && ($0.contains("disappeared") || $0.contains("does not exist")) } == true
        })
        Ledger.write(stays, 20)
        let scn = (try Catalog.open(database: stays, logger: quietLogger)).redoStatus.scn
        #expect(await Await.eventually(30) { (await agent.snapshot()).databases.first { $0.path == stays }?.capturedScn ?? 0 >= 20 }, "SCN \(scn)")
        #expect((await agent.snapshot()).databases.first { $0.path == stays }?.problems.isEmpty == true)
        await group.triggerGracefulShutdown()
        try await running.value
    }

    /// While `cairn archive --follow` captures a database, the agent reports it, holds no pin
    /// (the other capture's checkpoints still empty the WAL), and takes over once it stops.
    @Test func anotherCaptureOfADatabaseIsReportedNotFoughtAndTakenOverWhenItStops() async throws {
        let dir = TempDir()
        let db = dir.file("shared.db")
        Ledger.create(db, filler: 200)
        #expect(Shell.run([Paths.cairn, "init", db]).status == 0)
        #expect(Shell.run([Paths.cairn, "backup", db]).status == 0)
        let follow = Shell.start(["sh", "-c", "exec \"$0\" archive \"$1\" --follow 2>/dev/null", Paths.cairn, db])
        #expect(Await.capture(of: db))
        let (agent, group, running) = try await start("databases:\n  - path: \(db)\n", in: dir)
        #expect(await Await.eventually(30) {
            (await agent.snapshot()).databases.first?.problems.contains { $0.contains("capture") } == true
        })
        Ledger.write(db, 100)
        let r = Shell.run(["sqlite3", db, "PRAGMA busy_timeout=10000; PRAGMA wal_checkpoint(TRUNCATE);"])
        #expect(r.stdout.contains("\n0|0|0"), "the other capture's checkpoint is not held up by the agent: \(r.stdout) \(r.stderr)")
        kill(follow.processIdentifier, SIGINT)
        follow.waitUntilExit()
        #expect(await Await.eventually(60) {
            let d = (await agent.snapshot()).databases.first
            return d?.state == .capturing && d?.problems.isEmpty == true
        })
        Ledger.write(db, 50, seed: 2)
        await group.triggerGracefulShutdown()
        try await running.value
        let out = dir.file("out.db")
        #expect(Shell.run([Paths.cairn, "restore", db, "--to", out]).status == 0)
        #expect(Ledger.check(out).transfers == Ledger.check(db).transfers && Ledger.check(out).total == Ledger.check(db).total)
    }
}
