import CairnFormats
import CairnEngines

/// The `cairn` command's exit statuses: 1 generic, 3 not found, 4 verification or
/// corruption, 5 identity mismatch, 6 disk full, I/O or object storage, 64 usage, 75 another Cairn command
/// holds a lock (try again later), 76 the WAL was replaced under capture, 130 cancelled.
/// `cairn advise` also exits 10 (the worst open failure is high) or 11 (one is critical): see `AdviseExit`.
enum ExitStatus {
    static let lockNotAcquired: Int32 = 75

    static func of(_ error: EngineError) -> Int32 {
        switch error {
        case .invalidArgument, .invalidSetting, .targetExists, .keyFileUnprotected, .keyFileInvalid: return 64
        // A capture worker's exit status tells its guardian the database is gone (final).
        case .databaseVanished: return WorkerProcess.databaseVanishedStatus
        case .databaseMissing, .notRegistered, .backupNotFound, .noBackups, .missingFile: return 3
        case .corrupt, .truncated, .verificationFailed, .controlFileUnusable, .unsupportedFormat, .newerRelease: return 4
        case .dbidMismatch, .databaseMismatch, .alreadyRegistered, .notSQLite, .copyNotCataloged, .wrongEncryptionKey: return 5
        case .io, .diskFull, .recoveryAreaFull, .objectStore: return 6
        case .restorePointNotFound, .noBackupForRestorePoint, .missingLog, .dataKeyMissing, .encryptionKeyRequired: return 3
        case .walReplaced: return 76
        case .sqlite, .notWALCapable, .databaseBusy, .walChanged, .captureStalled, .captureRunning, .unrecoverable, .readOnlyCatalog, .cryptoFailed: return 1
        case .lockNotAcquired: return lockNotAcquired
        case .cancelled: return 130
        }
    }
}
