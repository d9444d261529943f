@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
@testable import CairnObjectStore
import CairnTestSupport
import Foundation
import Synchronization
import Testing

/// Remote repositories when the endpoint fails: an asynchronous remote catches up after an
/// outage while local archiving goes on, a synchronous one holds archiving back, an idle
/// database sends nothing, capture goes on while the endpoint goes silent or cuts connections,
/// and an endpoint refusing connections leaves local work alone.
extension RemoteRepositoryTests {
    static let unavailable = FaultProxy.Reply.error(status: 503, code: "ServiceUnavailable")

    /// `cairn ARGS` started with `env` (its output discarded); the caller waits for it or kills it.
    static func start(_ args: [String], _ env: [String: String]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Paths.cairn)
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// A database registered with `initArguments` (after `init DB`) through a `Faults` proxy
    /// (two attempts per request), backed up; `body` gets the proxy, the environment and the database.
    static func withRegisteredDatabase(_ initArguments: [String], environment extra: [String: String] = [:],
                                       _ body: (Faults, [String: String], String, S3Client, TempDir) async throws -> Void) async throws {
        try await S3ArchiveTests.withServer(checkingSignatures: false) { server, client, dir in
            let faults = try Faults(server)
            defer { faults.proxy.stop() }
            var env = S3ArchiveTests.environment(server, cache: dir.file("cache"))
            env["AWS_ENDPOINT_URL_S3"] = faults.proxy.endpoint
            env["AWS_MAX_ATTEMPTS"] = "2"
            env.merge(extra) { $1 }
            let db = dir.file("app.db")
            Ledger.create(db, filler: 500)
            _ = Self.cairn(env, ["init", db] + initArguments)
            _ = Self.cairn(env, "backup", db)
            try await body(faults, env, db, client, dir)
        }
    }

    @Test func anAsynchronousRemoteCatchesUpAfterAnOutageWhileLocalArchivingGoesOn() async throws {
        let url = "s3://\(Self.bucket)/async"
        try await Self.withRegisteredDatabase(["--remote", url]) { faults, env, db, client, _ in
            let dbid = try Catalog.open(database: db, logger: quietLogger).control.dbid

            faults.set(Self.unavailable)
            let hold = WALHold(db)
            Ledger.write(db, 30, seed: 1)
            let archived = Shell.run([Paths.cairn, "archive", db, "--once"], environment: env)
            #expect(archived.status == 0, "local archiving must go on while the remote is down: \(archived.stderr)")
            _ = Self.cairn(env, "backup", db, "--level", "1")
            hold.release()
            let behind = try Self.status(env, db)
            #expect(behind.archivedScn == 30, "\(behind)")
            let lag = try #require(behind.remotes.first)
            #expect(lag.logsBehind >= 1 && lag.backupsBehind == 1 && !lag.catalogCurrent && lag.lastError != nil, "\(lag)")
            // Nothing was recorded as stored there.
            let log = try #require(try Catalog.open(database: db, logger: quietLogger).control.redo.logs.first)
            let copy = try #require(log.destinations.first { $0.destination.hasPrefix(url) })
            #expect(copy.state == .failed || copy.state == .pending, "\(copy)")
            #expect(try await !Self.keys(client, "async/\(dbid)/archive/").contains("async/\(dbid)/archive/" + log.fileName))

            faults.set(.forward)
            _ = Self.cairn(env, "configure", db, "remote", "sync")
            let after = try #require(try Self.status(env, db).remotes.first)
            #expect(after.logsBehind == 0 && after.backupsBehind == 0 && after.catalogCurrent && after.lastError == nil, "\(after)")
            #expect(try await Self.keys(client, "async/\(dbid)/archive/").contains("async/\(dbid)/archive/" + log.fileName))
        }
    }

    @Test func aSynchronousRemoteCountsTowardMinSucceed() async throws {
        try await Self.withRegisteredDatabase(["--remote", "s3://\(Self.bucket)/sync", "--remote-mode", "sync", "--min-succeed", "2"]) { faults, env, db, _, _ in
            faults.set(Self.unavailable)
            let hold = WALHold(db)
            Ledger.write(db, 20, seed: 1)
            _ = Shell.run([Paths.cairn, "archive", db, "--once"], environment: env)
            let held = try Self.status(env, db)
            #expect(held.archivedScn == 0, "a log is archived only once the sync remote holds it too")
            faults.set(.forward)
            _ = Self.cairn(env, "archive", db, "--once")
            hold.release()
            #expect(try Self.status(env, db).archivedScn == 20)
        }
    }

    @Test func anIdleDatabaseSendsNoRequest() async throws {
        try await Self.withRegisteredDatabase(["--remote", "s3://\(Self.bucket)/idle"]) { faults, env, db, _, _ in
            let hold = WALHold(db)
            Ledger.write(db, 10, seed: 1)
            _ = Self.cairn(env, "archive", db, "--once")
            let before = faults.proxy.requests
            // Idle: archiving, status and a sync find nothing to send.
            _ = Self.cairn(env, "archive", db, "--once")
            _ = Self.cairn(env, "status", db, "--json")
            _ = Self.cairn(env, "configure", db, "remote", "sync")
            hold.release()
            #expect(faults.proxy.requests == before, "\(faults.proxy.requests - before) request(s) for an idle database")
        }
    }

    /// A proxy whose every answer is `reply` (forward, an error, silence, or the connection cut).
    final class Faults: Sendable {
        final class Cell: Sendable {
            private let reply = Mutex<FaultProxy.Reply>(.forward)
            var value: FaultProxy.Reply { reply.withLock { $0 } }
            func set(_ r: FaultProxy.Reply) { reply.withLock { $0 = r } }
        }
        private let cell = Cell()
        let proxy: FaultProxy
        init(_ server: S3TestServer) throws {
            let cell = cell
            proxy = try FaultProxy(forwardingTo: server.port) { _, _ in cell.value }
        }
        func set(_ r: FaultProxy.Reply) { cell.set(r) }
    }

    /// While `cairn archive --follow` runs, the endpoint goes silent (a crawl: requests time
    /// out), then cuts every connection mid-request, then answers again: capture and local
    /// archiving never stop, nothing is recorded as stored at the remote meanwhile, and the
    /// remote catches up by itself; the bucket alone then restores the database.
    @Test func captureAndLocalArchivingGoOnWhileTheEndpointFailsAndTheRemoteCatchesUp() async throws {
        let url = "s3://\(Self.bucket)/faults"
        try await Self.withRegisteredDatabase(["--remote", url], environment: ["CAIRN_S3_REQUEST_TIMEOUT": "1"]) { faults, env, db, client, dir in
            let dbid = try Catalog.open(database: db, logger: quietLogger).control.dbid

            let follow = try Self.start(["archive", db, "--follow"], env)
            defer { if follow.isRunning { kill(follow.processIdentifier, SIGKILL) } }
            try #require(Await.capture(of: db))

            func archivedLocally(through scn: UInt64) -> Bool {
                Await.until(60) { ((try? Catalog.open(database: db, logger: quietLogger))?.control.redo.archivedScn ?? 0) >= scn }
            }
            func lag() throws -> RemoteLag? { try Catalog.open(database: db, logger: quietLogger).remoteLag.first }
            var scn: UInt64 = 0
            for (round, fault) in [FaultProxy.Reply.silence, .drop].enumerated() {
                faults.set(fault)
                Ledger.write(db, 30, seed: round + 1)
                scn += 30
                _ = Self.cairn(env, "switch-log", db)
                #expect(archivedLocally(through: scn), "local archiving stopped while the endpoint failed (\(fault))")
                let behind = try #require(try lag())
                #expect(behind.logsBehind >= 1, "\(behind)")
            }
            let stored = try await Self.keys(client, "faults/\(dbid)/archive/")
            let logs = try Catalog.open(database: db, logger: quietLogger).control.redo.logs
            for l in logs {
                let copy = l.destinations.first { $0.destination.hasPrefix(url) }
                #expect(copy?.state != .archived || stored.contains("faults/\(dbid)/archive/" + l.fileName), "recorded as stored but not there: \(l.fileName)")
            }

            faults.set(.forward)
            let caughtUp = Await.until(120) { ((try? lag())??.logsBehind ?? 1) == 0 && ((try? lag())??.catalogCurrent ?? false) }
            #expect(caughtUp, "the remote did not catch up by itself: \(String(describing: try? lag()))")
            kill(follow.processIdentifier, SIGINT)
            follow.waitUntilExit()
            let source = try ContentDigest.compute(db)
            try Self.loseMachine(db, cache: dir.file("cache"))
            _ = Self.cairn(env, "restore", "--repo", url, "--to", dir.file("restored.db"))
            #expect(try ContentDigest.compute(dir.file("restored.db")) == source)
        }
    }

    /// An endpoint that refuses connections: local archiving and backups go on, the remote's
    /// lag and the reason are in the status.
    @Test func anEndpointRefusingConnectionsLeavesLocalWorkAlone() async throws {
        let dir = TempDir()
        let port = try #require(TCPProbe.freePort())
        let env = ["AWS_ENDPOINT_URL_S3": "http://127.0.0.1:\(port)", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "not-a-real-secret",
                   "AWS_REGION": "us-east-1", "CAIRN_S3_CACHE": dir.file("cache"), "AWS_MAX_ATTEMPTS": "1", "CAIRN_S3_REQUEST_TIMEOUT": "2"]
        let db = dir.file("app.db")
        Ledger.create(db, filler: 300)
        _ = Self.cairn(env, "init", db, "--remote", "s3://\(Self.bucket)/refused")
        _ = Self.cairn(env, "backup", db)
        let hold = WALHold(db)
        Ledger.write(db, 10, seed: 1)
        _ = Self.cairn(env, "archive", db, "--once")
        hold.release()
        let s = try Self.status(env, db)
        let lag = try #require(s.remotes.first)
        #expect(s.archivedScn == 10 && lag.logsBehind == 1 && lag.backupsBehind == 1, "\(s)")
        #expect(lag.lastError?.contains("127.0.0.1:\(port)") == true || lag.lastError?.lowercased().contains("connect") == true, "\(lag)")
        #expect(lag.lastError?.contains("not-a-real-secret") == false)
    }

    /// A remote that never answers does not hold a clean stop of capture back: SIGINT ends
    /// `archive --follow` while an upload waits (requests time out only after 120 s here).
    @Test func aSilentRemoteDoesNotHoldCaptureStopBack() async throws {
        try await Self.withRegisteredDatabase(["--remote", "s3://\(Self.bucket)/silent"]) { faults, env, db, _, _ in
            var quiet = env
            quiet["AWS_MAX_ATTEMPTS"] = "6"
            let follow = try Self.start(["archive", db, "--follow"], quiet)
            defer { if follow.isRunning { kill(follow.processIdentifier, SIGKILL) } }
            try #require(Await.capture(of: db))
            faults.set(.silence)
            // (Counted from here: the shipper is poked when the log closes and may try the
            // remote before `switch-log` returns.)
            let before = faults.proxy.requests
            Ledger.write(db, 20, seed: 1)
            _ = Self.cairn(env, "switch-log", db)
            #expect(Await.until(30) { faults.proxy.requests > before }, "the shipper never tried the remote")
            kill(follow.processIdentifier, SIGINT)
            #expect(Await.until(20) { !follow.isRunning }, "archive --follow did not stop while an upload to a silent remote waited")
            #expect(try Catalog.open(database: db, logger: quietLogger).control.redo.archivedScn == 20)
        }
    }

    /// `cairn configure DB remote sync` killed (SIGKILL) at random moments of its uploads, from
    /// its first instant to past its usual length, three times; a last sync completes and the
    /// bucket alone restores the database exactly. Nothing a killed sync left is recorded as
    /// stored, and nothing it left stops the next one.
    @Test func remoteSyncsKilledAtRandomMomentsLoseNothing() async throws {
        var seed = TestSeed()
        let url = "s3://\(Self.bucket)/killed"
        try await Self.withRegisteredDatabase(["--remote", url]) { faults, env, db, client, dir in
            // Backups and logs taken while the remote refuses: all of it waits for the syncs below.
            faults.set(Self.unavailable)
            let hold = WALHold(db)
            Ledger.write(db, 40, seed: 1)
            _ = Self.cairn(env, "archive", db, "--once")
            _ = Shell.run([Paths.cairn, "backup", db, "--max-piece-size", "64K"], environment: env)
            Ledger.write(db, 40, seed: 2)
            _ = Self.cairn(env, "archive", db, "--once")
            hold.release()
            faults.set(.forward)
            let t0 = Date()
            let probe = Shell.run([Paths.cairn, "configure", db, "remote", "sync", "--json"], environment: env)
            let usual = max(0.2, Date().timeIntervalSince(t0))
            // The probe stored everything; remove the remote's copies so the killed syncs start over.
            let dbid = try Catalog.open(database: db, logger: quietLogger).control.dbid
            #expect(probe.status == 0, "\(probe.stderr)")
            _ = try Catalog.open(database: db, logger: quietLogger).transact { (c: inout ControlFile) throws(EngineError) in
                c.remotes![0].backups = []
                c.remotes![0].catalogXXH3 = nil
                for i in c.redo.logs.indices {
                    for j in c.redo.logs[i].destinations.indices where c.redo.logs[i].destinations[j].destination.hasPrefix(url) {
                        c.redo.logs[i].destinations[j].state = .pending
                    }
                }
            }
            for key in try await Self.keys(client, "killed/") { try await client.delete(key: key) }
            for round in 1...3 {
                let delay = Double.random(in: 0...(usual * 1.2), using: &seed.rng)
                let sync = try Self.start(["configure", db, "remote", "sync"], env)
                usleep(UInt32(delay * 1_000_000))
                kill(sync.processIdentifier, SIGKILL)
                sync.waitUntilExit()
                print("round \(round): killed after \(String(format: "%.3f", delay)) s of about \(String(format: "%.3f", usual)) s")
            }
            _ = Self.cairn(env, "configure", db, "remote", "sync")
            let lag = try #require(try Catalog.open(database: db, logger: quietLogger).remoteLag.first)
            #expect(lag.logsBehind == 0 && lag.backupsBehind == 0 && lag.catalogCurrent, "\(lag)")
            let source = try ContentDigest.compute(db)
            try Self.loseMachine(db, cache: dir.file("cache"))
            _ = Self.cairn(env, "restore", "--repo", url, "--dbid", dbid, "--to", dir.file("restored.db"))
            #expect(try ContentDigest.compute(dir.file("restored.db")) == source)
        }
    }
}
