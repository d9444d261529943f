import Foundation
import CairnFormats
import CairnCatalog

extension Catalog {
    /// Before the live database is replaced (the capture lock held): captures and archives
    /// its last committed transactions, so a complete recovery includes them and a recovery to
    /// an earlier point keeps them on the branch it abandons. A database SQLite cannot read is
    /// left as it is.
    func captureLastTransactions() {
        guard FileSystem.exists(databasePath), (try? DatabaseHeader.read(databasePath)) != nil else { return }
        do throws(EngineError) {
            try Capturer(database: self, logger: logger).stop()
        } catch {
            logger.warning("could not capture the last transactions before replacing the database: \(error.description)")
        }
        Archiver(database: self, logger: logger).archivePending(force: true)
    }
}
