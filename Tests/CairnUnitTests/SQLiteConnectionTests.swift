@testable import CairnEngines
import CairnFormats
import CairnTestSupport
import Foundation
import Testing

@Suite struct SQLiteConnectionTests {
    /// Finding: a connection that could not be opened freed its busy handler's state twice
    /// (once on the way out of init, once in deinit, which runs for a class whose properties
    /// were all set) and the process aborted ("double free").
    @Test func aDatabaseThatCannotBeOpenedIsAnErrorNotACrash() {
        let dir = TempDir()
        for _ in 0..<3 {
            do {
                _ = try SQLiteConnection(path: dir.file("missing.db"))
                Issue.record("a missing database was opened")
            } catch {
                guard case let .sqlite(path, _, message) = error else { Issue.record("\(error)"); continue }
                #expect(path.hasSuffix("missing.db") && !message.isEmpty, "\(error)")
            }
        }
    }
}
