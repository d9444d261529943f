import Foundation
import Testing
import CairnTestSupport

/// The `cairn agent` process as an operator runs it: several databases (one in a watched
/// directory) written by other processes, `/metrics`, `/healthz` and the status page in a real
/// browser, SIGKILL and a restart, SIGTERM, and every database restored to its latest point
/// equal to its source.
@Suite(.serialized) struct AgentProcessTests {
    func cairn(_ args: String...) -> Shell.Output { Shell.run([Paths.cairn] + args) }

    func digest(_ path: String) -> String {
        let r = cairn("digest", path, "--json")
        return ((try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any])?["digest"] as? String ?? "none: \(r.stderr)"
    }

    @Test func manyDatabasesMetricsHealthStatusPageKillRestartStopAndRestore() async throws {
        let dir = TempDir()
        let tenants = dir.file("tenants")
        try FileManager.default.createDirectory(atPath: tenants, withIntermediateDirectories: true)
        let a = dir.file("a.db"), b = dir.file("b.db"), t1 = tenants + "/t1.db"
        let all = [a, b, t1]
        for db in all { Ledger.create(db, filler: 300) }
        let port = AgentHTTP.freePort()
        let config = dir.file("cairn.yml")
        try """
        http:
          listen: 127.0.0.1:\(port)
        log: {format: json, level: info}
        databases:
          - path: \(a)
            schedule:
              - {job: backup, level: 1, cron: "*/5 * * * *"}
          - path: \(b)
            retention: {redundancy: 2}
          - dir: \(tenants)
            pattern: "*.db"
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let log = dir.file("agent.log")
        let http = AgentHTTP(port: port)

        var agent = AgentHTTP.start(config: config, log: log)
        #expect(await http.healthy(within: 120), "healthz: \(http.get("/healthz").body)\n\(AgentHTTP.tail(log))")
        let writers = all.enumerated().map { i, db in Ledger.startWriter(db, 150, seed: i + 1) }
        for w in writers { w.waitUntilExit() }
        #expect(await http.healthy(within: 60))
        let metrics = http.get("/metrics")
        #expect(metrics.status == 200)
        for db in all {
            #expect(metrics.body.contains("cairn_captured_scn{") && metrics.body.contains("database=\"\(db)\""), "metrics name \(db)")
        }
        #expect(metrics.body.contains("cairn_last_backup_age_seconds"))
        if AgentStatusPageBrowserTests.chromium != nil {
            let page = await AgentStatusPageBrowserTests.browse("http://127.0.0.1:\(port)/", ["--dump-dom"], profile: TempDir())
            for db in all { #expect(page.stdout.contains(db), "the status page shows \(db)") }
            #expect(page.stdout.contains("<svg"), "the status page draws each timeline")
            let errors = AgentStatusPageBrowserTests.errors(page.stderr, port: port)
            #expect(errors.isEmpty, "the browser reported: \(errors)")
        }

        // SIGKILL at once, then a new agent resumes capture from the online logs.
        kill(agent.processIdentifier, SIGKILL)
        agent.waitUntilExit()
        agent = AgentHTTP.start(config: config, log: log)
        #expect(await http.healthy(within: 120), "after the restart: \(http.get("/healthz").body)\n\(AgentHTTP.tail(log))")

        // SIGHUP: a database added to the file is protected, the others undisturbed.
        let c = dir.file("c.db")
        Ledger.create(c, filler: 100)
        let text = try String(contentsOfFile: config, encoding: .utf8)
        try (text + "\n  - path: \(c)\n").write(toFile: config, atomically: true, encoding: .utf8)
        kill(agent.processIdentifier, SIGHUP)
        #expect(await Await.eventually(60) { http.get("/api/status").body.contains(c) && http.get("/healthz").status == 200 },
                "after SIGHUP: \(http.get("/healthz").body)\n\(AgentHTTP.tail(log))")
        let everything = all + [c]
        for (i, db) in everything.enumerated() { Ledger.write(db, 60, seed: 10 + i) }

        kill(agent.processIdentifier, SIGTERM)
        agent.waitUntilExit()
        #expect(agent.terminationStatus == 0, "a SIGTERM stop is clean: \(AgentHTTP.tail(log))")
        for db in everything {
            let out = db + ".restored"
            let r = cairn("restore", db, "--to", out)
            #expect(r.status == 0, "\(db): \(r.stderr)")
            #expect(digest(out) == digest(db), "\(db) restored to its latest point equals its source")
        }
    }
}

extension AgentProcessTests {
    /// The agent killed while an application writes and runs its own TRUNCATE checkpoints: the
    /// WAL may restart over changes nothing captured. The restarted agent records the gap,
    /// takes a level-0 backup to start a new chain, is healthy again, and a restore to the
    /// latest point equals the source.
    @Test func killedWhileTheApplicationWritesAndCheckpointsThenHealthyAgain() async throws {
        let dir = TempDir()
        let db = dir.file("busy.db")
        Ledger.create(db, filler: 300)
        let port = AgentHTTP.freePort()
        let config = dir.file("cairn.yml")
        try "http: {listen: 127.0.0.1:\(port)}\ndatabases:\n  - path: \(db)\n".write(toFile: config, atomically: true, encoding: .utf8)
        let log = dir.file("agent.log")
        let http = AgentHTTP(port: port)
        var agent = AgentHTTP.start(config: config, log: log)
        #expect(await http.healthy(within: 120), "\(http.get("/healthz").body)\n\(AgentHTTP.tail(log))")
        let writer = Ledger.startWriter(db, 4000, seed: 3, checkpointEvery: 25)
        let seed = ProcessInfo.processInfo.environment["CAIRN_AGENT_KILL_MS"].flatMap(UInt64.init) ?? UInt64(Date().timeIntervalSince1970 * 1000) % 500
        print("AgentProcessTests.killedWhileTheApplicationWrites: kill after 100 + \(seed) ms (replay: CAIRN_AGENT_KILL_MS=\(seed))")
        try await Task.sleep(for: .milliseconds(100 + seed))
        kill(agent.processIdentifier, SIGKILL)
        agent.waitUntilExit()
        // Down until the application has committed (and checkpointed) a few dozen more
        // transactions, or finished: long enough for its checkpoints to restart the WAL.
        let atKill = Ledger.check(db).transfers
        #expect(await Await.eventually(30) { !writer.isRunning || Ledger.check(db).transfers >= atKill + 60 })
        agent = AgentHTTP.start(config: config, log: log)
        writer.waitUntilExit()
        #expect(await http.healthy(within: 120), "healthy again: \(http.get("/healthz").body)\n\(AgentHTTP.tail(log))")
        kill(agent.processIdentifier, SIGTERM)
        agent.waitUntilExit()
        #expect(agent.terminationStatus == 0, "\(AgentHTTP.tail(log))")
        let out = dir.file("out.db")
        let r = Shell.run([Paths.cairn, "restore", db, "--to", out])
        #expect(r.status == 0, "\(r.stderr)")
        let (got, want) = (Ledger.check(out), Ledger.check(db))
        if got.transfers != want.transfers || got.total != want.total {
            // Kept for a post-mortem: the repository, the agent's log and both databases.
            let kept = NSTemporaryDirectory() + "cairn-failed-agent-kill-\(seed)-\(UUID().uuidString.prefix(6))"
            try? FileManager.default.copyItem(atPath: dir.path, toPath: kept)
            Issue.record("restored \(got.transfers) transfers (total \(got.total)), the source has \(want.transfers) (total \(want.total)); kept in \(kept)\n\(r.stdout)\n\(AgentHTTP.tail(log))")
        }
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        print("AgentProcessTests.killedWhileTheApplicationWrites: \(text.contains("new chain") ? "a gap was recorded and a new chain started" : "no gap (the WAL did not restart while the agent was down)")")
    }
}

extension AgentProcessTests {
    /// `/healthz` says ok only once everything committed can be restored: an agent starting on
    /// a database whose WAL was restarted over uncaptured changes (no capture ran) is not
    /// healthy before its capture ran, found the gap and a level-0 backup began a new chain.
    /// Polled from the agent's first instant; at the first ok, a restore to the latest point
    /// equals the database (nothing writes it meanwhile).
    @Test func healthyOnlyOnceEverythingCommittedCanBeRestored() async throws {
        let dir = TempDir()
        let db = dir.file("gap.db")
        Ledger.create(db, filler: 300)
        #expect(cairn("init", db).status == 0)
        #expect(cairn("backup", db).status == 0)
        Ledger.write(db, 40, seed: 5)
        #expect(Shell.run(["sqlite3", db, "PRAGMA wal_checkpoint(TRUNCATE);"]).status == 0)
        Ledger.write(db, 20, seed: 6)
        let port = AgentHTTP.freePort()
        let config = dir.file("cairn.yml")
        try "http: {listen: 127.0.0.1:\(port)}\ndatabases:\n  - path: \(db)\n".write(toFile: config, atomically: true, encoding: .utf8)
        let log = dir.file("agent.log")
        let http = AgentHTTP(port: port)
        let agent = AgentHTTP.start(config: config, log: log)
        #expect(await http.healthy(within: 120), "\(http.get("/healthz").body)\n\(AgentHTTP.tail(log))")
        let out = dir.file("out.db")
        let r = cairn("restore", db, "--to", out)
        #expect(r.status == 0, "\(r.stderr)")
        let (got, want) = (Ledger.check(out), Ledger.check(db))
        #expect(got.transfers == want.transfers && got.total == want.total, "restored \(got), the database has \(want)\n\(AgentHTTP.tail(log))")
        kill(agent.processIdentifier, SIGTERM)
        agent.waitUntilExit()
        #expect(agent.terminationStatus == 0)
    }
}

/// Talking to an agent's HTTP listener with curl.
struct AgentHTTP {
    let port: Int

    struct Answer {
        let status: Int
        let body: String
    }

    func get(_ path: String) -> Answer {
        let r = Shell.run(["curl", "-s", "--max-time", "10", "-w", "\n%{http_code}", "http://127.0.0.1:\(port)\(path)"])
        var lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let code = Int(lines.popLast() ?? "") ?? 0
        return Answer(status: code, body: lines.joined(separator: "\n"))
    }

    func healthy(within seconds: TimeInterval) async -> Bool {
        await Await.eventually(seconds) { get("/healthz").status == 200 }
    }

    static func start(config: String, log: String) -> Process {
        Shell.start(["sh", "-c", "exec \"$0\" agent --config \"$1\" 2>> \"$2\"", Paths.cairn, config, log])
    }

    static func tail(_ log: String) -> String {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(30).joined(separator: "\n")
    }

    /// A port nothing listens on now (bound to port 0, then released).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
