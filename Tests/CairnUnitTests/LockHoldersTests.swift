import Foundation
import Testing
import CairnFormats
@testable import CairnCatalog
import CairnTestSupport

/// The holder of a lock is found however many locks the system holds: /proc/locks is read to
/// its end (Foundation's readers stop after 4 KiB of it, a few dozen locks).
@Suite struct LockHoldersTests {
    @Test func theHolderIsFoundAmongThousandsOfLocks() throws {
        let dir = TempDir()
        var held: [LockFile] = []
        for i in 0..<400 {
            let l = try LockFile.create(dir.file("lock-\(i)"))
            try l.lock(.exclusive, policy: .noWait, purpose: "hold", log: { _ in })
            held.append(l)
        }
        #expect(LockHolders.holders(dir.file("lock-399")) == [getpid()])
        #expect(LockHolders.holders(dir.file("lock-0")) == [getpid()])
        let text = String(decoding: FileSystem.readProcFile("/proc/locks") ?? [], as: UTF8.self)
        #expect(text.split(separator: "\n").count >= 400)
        #expect(FileSystem.readProcFile("/proc/self/cmdline")?.isEmpty == false)
        held.removeAll()
    }
}
