import Foundation
import Logging
import ServiceLifecycle
import Testing
import CairnAgent
import CairnCatalog
import CairnEngines
import CairnFormats
import CairnTestSupport

/// The agent's runtime in this process (the `cairn agent` process is tested in AgentProcessTests):
/// several databases from one configuration, bad entries reported while the others run, a
/// database appearing in a watched directory, a reload adding and removing entries, and a
/// graceful stop that leaves every committed transaction captured and archived.
@Suite(.serialized) struct AgentRuntimeTests {
    func cairn(_ args: String...) -> Shell.Output { Shell.run([Paths.cairn] + args) }

    func insert(_ db: String, _ n: Int, from: Int = 0) {
        let rows = (from..<from + n).map { "INSERT INTO transfers(src, dst, amount) VALUES (1, 2, \($0));" }.joined()
        let r = Shell.run(["sqlite3", db, "PRAGMA busy_timeout=5000; BEGIN; \(rows) COMMIT;"])
        #expect(r.status == 0, "\(r.stderr)")
    }

    func digest(_ path: String) -> String {
        let r = cairn("digest", path, "--json")
        return ((try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any])?["digest"] as? String ?? "none: \(r.stderr)"
    }

    static func describe(_ s: AgentSnapshot) -> String {
        s.databases.map { d in
            "\(d.path): \(d.state) backups \(d.lastBackupAt) problems \(d.problems) jobs \(d.recentJobs.map { "\($0.kind) \($0.outcome) \($0.output)" })"
        }.joined(separator: "\n") + "\nagent: \(s.problems)"
    }

    /// An agent running the configuration `yaml` (written in `dir`), once `db` is captured and
    /// has its first backup.
    static func startedAgent(_ dir: TempDir, _ yaml: String, _ db: String) async throws -> (AgentService, ServiceGroup, Task<Void, any Error>) {
        let config = dir.file("cairn.yml")
        try yaml.write(toFile: config, atomically: true, encoding: .utf8)
        let (configuration, problems) = try AgentConfiguration.loadForRunning(config)
        let agent = AgentService(configFile: config, configuration: configuration, problems: problems, logger: quietLogger)
        let group = ServiceGroup(services: [agent], logger: quietLogger)
        let running = Task(executorPreference: AgentExecutor.shared) { try await group.run() }
        let started = await Await.eventually(60) {
            await agent.snapshot().databases.first { $0.path == db }.map { !$0.lastBackupAt.isEmpty && $0.state == .capturing } ?? false
        }
        let first = await agent.snapshot()
        #expect(started, "\(describe(first))")
        return (agent, group, running)
    }

    @Test func protectsEveryConfiguredDatabaseReportsBadEntriesAndStopsCleanly() async throws {
        let dir = TempDir()
        let tenants = dir.file("tenants")
        try FileManager.default.createDirectory(atPath: tenants, withIntermediateDirectories: true)
        let a = dir.file("a.db"), b = dir.file("b.db"), t1 = tenants + "/t1.db", junk = dir.file("junk.db")
        for db in [a, b, t1] { Ledger.create(db, filler: 200) }
        FileManager.default.createFile(atPath: junk, contents: Data(repeating: 0x41, count: 8192))
        let config = dir.file("cairn.yml")
        func writeConfig(_ extra: String) throws {
            try """
            databases:
              - path: \(a)
              - path: \(junk)
              - dir: \(tenants)
                pattern: "*.db"
            \(extra)
            """.write(toFile: config, atomically: true, encoding: .utf8)
        }
        try writeConfig("  - path: \(a)\n")
        let (configuration, problems) = try AgentConfiguration.loadForRunning(config)
        #expect(problems.count == 1, "the duplicate entry is reported: \(problems)")
        let agent = AgentService(configFile: config, configuration: configuration, problems: problems, logger: quietLogger)
        let group = ServiceGroup(services: [agent], logger: quietLogger)
        let running = Task(executorPreference: AgentExecutor.shared) { try await group.run() }

        // Each good database is registered, captured and gets its level-0 backup; the bad one is reported.
        let started = await Await.eventually(60) {
            let s = await agent.snapshot()
            let backedUp = s.databases.filter { !$0.lastBackupAt.isEmpty && $0.state == .capturing }.map(\.path)
            return Set(backedUp) == Set([a, t1])
        }
        var s = await agent.snapshot()
        #expect(started, "\(Self.describe(s))")
        let bad = try #require(s.databases.first { $0.path == junk })
        #expect(!bad.problems.isEmpty && bad.state == .failing, "\(bad.problems)")
        #expect(s.problems.contains { $0.contains("databases[") && $0.contains("again") }, "\(s.problems)")
        insert(a, 50)
        insert(t1, 20)

        // A new database in the watched directory is picked up; a reload adds b.
        let t2 = tenants + "/t2.db"
        Ledger.create(t2, filler: 100)
        try writeConfig("  - path: \(b)\n")
        agent.requestReload()
        let reloaded = await Await.eventually(60) {
            let s = await agent.snapshot()
            return Set(s.databases.filter { !$0.lastBackupAt.isEmpty }.map(\.path)) == Set([a, b, t1, t2])
        }
        s = await agent.snapshot()
        #expect(reloaded, "\(Self.describe(s))")
        #expect(!s.problems.contains { $0.contains("again") }, "the duplicate is gone after the reload: \(s.problems)")
        insert(b, 30)
        insert(t2, 10)
        insert(a, 5, from: 50)

        await group.triggerGracefulShutdown()
        try await running.value
        for db in [a, b, t1, t2] {
            let out = dir.file((db as NSString).lastPathComponent + ".restored")
            let r = cairn("restore", db, "--to", out)
            #expect(r.status == 0, "\(db): \(r.stderr)")
            #expect(digest(out) == digest(db), "\(db) restored to its latest point equals its source")
        }
    }

    /// Damaged pages that `cairn validate --live` finds while the agent captures are one of the
    /// agent's findings (critical: /healthz fails) until `cairn repair pages` closes them.
    @Test func damagedLivePagesAreAFindingUntilRepaired() async throws {
        let dir = TempDir()
        let db = dir.file("a.db")
        Ledger.create(db, filler: 2000)
        let (agent, group, running) = try await Self.startedAgent(dir, "databases:\n  - path: \(db)\n", db)
        func database() async -> CairnAgent.DatabaseSnapshot? { await agent.snapshot().databases.first { $0.path == db } }
        var rng = SeededGenerator(seed: 31)
        PageDamage.damage(db, pages: Array(PageDamage.leafPages(db, table: "transfers").prefix(2)), using: &rng)
        #expect(cairn("validate", db, "--live").status == 4)
        // A write moves the database's SCN: the agent reads its control file again at once.
        insert(db, 1)
        let found = await Await.eventually(30) { await database()?.findings.contains { $0.priority == .critical && $0.summary.contains("live-pages") } ?? false }
        let damaged = await database()
        #expect(found, "\(damaged?.findings ?? [])")
        #expect(damaged?.problems.contains { $0.contains("live-pages") } == true)
        #expect(cairn("repair", "pages", db, "--damaged").status == 0)
        insert(db, 1, from: 1)
        let gone = await Await.eventually(30) { await database()?.findings.contains { $0.summary.contains("live-pages") } == false }
        let repaired = await database()
        #expect(gone, "\(repaired?.findings ?? [])")
        await group.triggerGracefulShutdown()
        try await running.value
    }

    /// What only the recovery advisor's checkers find (an archived log gone from its
    /// destination) is a finding of the agent too, looked at every `advisor.interval`, with
    /// the advisor's priority.
    @Test func advisorFindingsAreTheAgentsFindings() async throws {
        let dir = TempDir()
        let db = dir.file("a.db")
        Ledger.create(db, filler: 200)
        let yaml = "advisor:\n  interval: 1\ndatabases:\n  - path: \(db)\n"
        #expect(try AgentConfiguration.parse(yaml, file: "cairn.yml").advisorInterval == 1)
        let (agent, group, running) = try await Self.startedAgent(dir, yaml, db)
        func database() async -> CairnAgent.DatabaseSnapshot? { await agent.snapshot().databases.first { $0.path == db } }
        insert(db, 5)
        #expect(cairn("switch-log", db).status == 0)
        let catalog = try Catalog.open(database: db, logger: quietLogger)
        func isArchived(_ l: LogRecord) -> Bool { l.destinations.contains { $0.state == .archived } }
        // The log holding the inserts, after the level-0 backup: complete recovery needs it.
        let backupScn = catalog.control.backups.first?.scn ?? 0
        func holdsInserts(_ l: LogRecord) -> Bool { isArchived(l) && l.highScn > backupScn }
        let archived = await Await.eventually(60) { catalog.control.redo.logs.contains(where: holdsInserts) }
        try #require(archived, "no log was archived")
        let log = try #require(catalog.control.redo.logs.first(where: holdsInserts))
        for d in log.destinations { FileSystem.removeFile(d.destination + "/" + log.fileName) }
        let found = await Await.eventually(30) { await database()?.findings.contains { $0.summary.contains("advisor: archived-logs") } ?? false }
        let seen = await database()
        #expect(found, "\(seen?.findings ?? [])")
        // High, not critical: the online log still holds the sequence.
        #expect(seen?.findings.contains { $0.priority == .high && $0.summary.contains("another copy carries it") } == true, "\(seen?.findings ?? [])")
        await group.triggerGracefulShutdown()
        try await running.value
    }
}
