@testable import CairnFormats
@testable import CairnEngines
import Foundation
import Testing
import CairnTestSupport

/// The process's one inotify instance shared by every capture (`InotifyHub`): each database's
/// watcher sees its own files' changes and no other's, one watch per directory, removed with
/// its last subscriber, and one instance however many databases. Serialized: one test wakes
/// every subscriber of the process.
@Suite(.serialized) struct InotifyHubTests {
    /// A directory of its own under the temporary directory, removed at the end.
    final class Scratch {
        let root = NSTemporaryDirectory() + "cairn-unit-inotify-\(UUID().uuidString.prefix(8))"
        init() { try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: root) }

        func directory(_ i: Int) -> String {
            let d = root + "/d\(i)"
            try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
            return d
        }
    }

    /// Appends to `path` with write(2), as SQLite writes its files.
    static func write(_ path: String, _ text: String = "x") {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        precondition(fd >= 0, "open \(path)")
        _ = text.withCString { Foundation.write(fd, $0, strlen($0)) }
        close(fd)
    }

    /// Polls `condition` until it holds (true) or `seconds` pass (false).
    static func eventually(_ seconds: TimeInterval = 5, _ condition: () -> Bool) -> Bool {
        Await.until(seconds, condition)
    }

    /// The inodes of the directories this process's inotify instances watch.
    static func watchedInodes() -> [UInt64] {
        var inodes: [UInt64] = []
        for fd in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            guard (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + fd)) == "anon_inode:inotify",
                  let info = try? String(contentsOfFile: "/proc/self/fdinfo/" + fd, encoding: .utf8) else { continue }
            for line in info.split(separator: "\n") where line.hasPrefix("inotify wd:") {
                guard let field = line.split(separator: " ").first(where: { $0.hasPrefix("ino:") }),
                      let ino = UInt64(field.dropFirst(4), radix: 16) else { continue }
                inodes.append(ino)
            }
        }
        return inodes
    }

    static func inode(_ path: String) -> UInt64 {
        var st = stat()
        precondition(stat(path, &st) == 0)
        return UInt64(st.st_ino)
    }

    /// Fails with the reason when this process has no inotify instance (another process of the
    /// user holding every one of `fs.inotify.max_user_instances`).
    static func requireInotify() throws {
        try #require(InotifyHub.shared.descriptor >= 0, "no inotify instance for this process: \(InotifyHub.limits.problems())")
    }

    @Test func manyDatabasesInOneProcessEachSeeTheirOwnWritesThroughOneInstance() throws {
        try Self.requireInotify()
        let scratch = Scratch()
        let perDirectory = 3
        let count = 300
        let paths = (0..<count).map { scratch.directory($0 / perDirectory) + "/app\($0).db" }
        for p in paths { Self.write(p); Self.write(p + "-wal") }
        let watchers = paths.map { WALWatcher(databasePath: $0) }
        #expect(watchers.allSatisfy { $0.isWatched })
        #expect(InotifyLimits.usage(pid: "self").instances == 1, "one inotify instance for the process")
        let directories = Set((0..<count / perDirectory).map { Self.inode(scratch.directory($0)) })
        let watched = Self.watchedInodes()
        for d in directories { #expect(watched.filter { $0 == d }.count == 1, "one watch per directory") }

        // Every other database commits; each sees its own commit.
        for i in stride(from: 0, to: count, by: 2) {
            Self.write(paths[i] + "-wal")
            #expect(watchers[i].wait(timeoutMs: 5_000) == .wal, "database \(i) sees its WAL written")
        }
        // Once database 1 sees its write, made last, every earlier event was handed out (one
        // queue, read in order): the others, neighbours of those written, saw nothing.
        Self.write(paths[1] + "-wal")
        #expect(watchers[1].wait(timeoutMs: 5_000) == .wal)
        for j in stride(from: 3, to: count, by: 2) {
            #expect(watchers[j].drain() == .none, "database \(j) saw another's write")
        }
        // A write to the database file (a checkpoint), through the directory's watch.
        let k = 151
        watchers[k].forgetDatabaseWrites()
        Self.write(paths[k])
        #expect(Self.eventually { watchers[k].databaseWritten() })
        #expect(watchers[k].wait(timeoutMs: 5_000) == .database)
        #expect(!watchers[k + 1].databaseWritten())
        // (Its close may come a moment later: once database 0 sees a file made after it, it came.)
        Self.write(paths[0] + "-shm")
        #expect(Self.eventually { watchers[0].drain().contains(.files) })
        _ = watchers[k].drain()
        // Other files in the directory, a log among them, neither end a wait nor count.
        Self.write(FileSystem.parent(of: paths[k]) + "/app151.db-journal-not-ours")
        #expect(watchers[k].wait(timeoutMs: 100) == nil)
        // A new file: the set of files changed.
        let shm = paths[k] + "-shm"
        Self.write(shm)
        #expect(watchers[k].wait(timeoutMs: 5_000) == .files)
        #expect(InotifyLimits.usage(pid: "self").instances == 1)
        _ = watchers
    }

    @Test func theWatchGoesWithTheLastSubscriberOfItsDirectory() throws {
        try Self.requireInotify()
        let scratch = Scratch()
        let dir = scratch.directory(0)
        let inode = Self.inode(dir)
        var first: WALWatcher? = WALWatcher(databasePath: dir + "/a.db")
        var second: WALWatcher? = WALWatcher(databasePath: dir + "/b.db")
        #expect(Self.watchedInodes().filter { $0 == inode }.count == 1)
        first = nil
        #expect(Self.watchedInodes().contains(inode), "the other database of the directory still needs it")
        Self.write(dir + "/b.db-wal")
        #expect(second?.wait(timeoutMs: 5_000)?.contains(.wal) == true)
        second = nil
        #expect(!Self.watchedInodes().contains(inode), "removed with its last subscriber")
        // A new subscriber adds it again.
        let third = WALWatcher(databasePath: dir + "/a.db")
        #expect(Self.watchedInodes().filter { $0 == inode }.count == 1)
        Self.write(dir + "/a.db-wal")
        #expect(third.wait(timeoutMs: 5_000)?.contains(.wal) == true)
        _ = (first, second)
    }

    @Test func aDeletedDirectoryIsReportedAndWatchedAgainOnceMadeAgain() throws {
        try Self.requireInotify()
        let scratch = Scratch()
        let dir = scratch.directory(0)
        let path = dir + "/app.db"
        Self.write(path)
        let watcher = WALWatcher(databasePath: path)
        try FileManager.default.removeItem(atPath: dir)
        var seen: WALWatcher.Events = []
        #expect(Self.eventually { seen.formUnion(watcher.drain()); return seen.contains(.files) && !watcher.isWatched })
        // Unwatched, a wait sleeps its time and says anything may have changed.
        #expect(watcher.wait(timeoutMs: 20) == [.wal, .database])
        // Made again: watched again within about a second.
        _ = scratch.directory(0)
        #expect(Self.eventually(10) { _ = watcher.wait(timeoutMs: 20); return watcher.isWatched })
        _ = watcher.drain()
        Self.write(path + "-wal")
        #expect(watcher.wait(timeoutMs: 5_000)?.contains(.wal) == true)
    }

    @Test func aWakeEndsAWaitAtOnce() throws {
        let scratch = Scratch()
        let watcher = WALWatcher(databasePath: scratch.directory(0) + "/app.db")
        let waker = watcher.waker
        let started = Date()
        let thread = Thread { waker.wake() }
        thread.start()
        #expect(watcher.wait(timeoutMs: 60_000) == nil)
        #expect(Date().timeIntervalSince(started) < 30, "woken, not timed out")
        // Every subscriber of the process, as a signal handler does it.
        InotifyHub.shared.wakeAll()
        #expect(watcher.wait(timeoutMs: 60_000) == nil)
        #expect(Date().timeIntervalSince(started) < 30)
    }

    @Test func limitsAreReadAndTheAdviceNamesTheSysctl() throws {
        try Self.requireInotify()
        let scratch = Scratch()
        let watcher = WALWatcher(databasePath: scratch.directory(0) + "/app.db")
        let limits = InotifyHub.limits
        let max = try String(contentsOfFile: "/proc/sys/fs/inotify/max_user_instances", encoding: .utf8)
        #expect(limits.maxUserInstances == Int(max.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(limits.maxUserWatches != nil)
        #expect(limits.processInstances == 1)
        #expect(limits.processWatches >= 1 && limits.watchedDirectories >= 1 && limits.subscriptions >= 1)
        #expect(limits.hubCreated == true)
        let needed = (limits.maxUserWatches ?? 0) + 1
        let advice = limits.problems(directories: needed)
        #expect(advice.count == 1)
        #expect(advice.first?.contains("sysctl fs.inotify.max_user_watches=") == true, "\(advice)")
        let suggested = advice.first.flatMap { a in a.range(of: "max_user_watches=").map { a[$0.upperBound...].prefix { $0.isNumber } } }.flatMap { Int($0) }
        #expect((suggested ?? 0) > needed)
        _ = watcher
    }
}
