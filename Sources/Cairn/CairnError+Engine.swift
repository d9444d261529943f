import Foundation
import CairnFormats

extension CairnError {
    /// The public form of an engine failure: its code, the file it names, the errno under
    /// it, and a remedy where one follows from the failure alone.
    package init(_ e: EngineError, database: String? = nil) {
        let (code, path, remedy) = Self.classify(e)
        var underlying: (any Error & Sendable)?
        if case let .io(_, _, err) = e { underlying = POSIXError(POSIXErrorCode(rawValue: err) ?? .EIO) }
        let message = if case .invalidSetting = e { e.apiDescription } else { e.description(database: database) }
        self.init(code: code, message: message, path: path, underlying: underlying, remedy: remedy)
    }

    private static func classify(_ e: EngineError) -> (Code, String?, Remedy?) {
        switch e {
        case let .io(_, path, _): return (.ioFailed, path, Remedy(.inspect(path: path), "check that the disk holding \(path) is healthy and writable"))
        case let .diskFull(path, _): return (.noSpace, path, Remedy(.makeRoom(path: path), "free space on the file system holding \(path)"))
        case let .recoveryAreaFull(_, _, _, path): return (.noSpace, path, Remedy(.makeRoom(path: path), "raise the recovery area's limit or delete obsolete backups"))
        case let .notSQLite(path, _), let .notWALCapable(path, _): return (.notADatabase, path, nil)
        case let .databaseMissing(path): return (.notFound, path, nil)
        case let .missingFile(path, _): return (.notFound, path, nil)
        case let .backupNotFound(_, repository): return (.notFound, repository, nil)
        case let .noBackups(database): return (.notFound, database, Remedy(.takeLevel0Backup(database: database), "take a level-0 backup"))
        case let .restorePointNotFound(_, database): return (.notFound, database, nil)
        case let .noBackupForRestorePoint(_, _, database): return (.unrecoverable, database, Remedy(.chooseAnotherPoint, "choose a point after the oldest backup"))
        case let .missingLog(_, _, looked, _): return (.unrecoverable, looked.first, Remedy(.chooseAnotherPoint, "recover to an earlier point, or find the missing log"))
        case .unrecoverable: return (.unrecoverable, nil, Remedy(.chooseAnotherPoint, "recover to a point the backups and logs reach"))
        case let .alreadyRegistered(database, _): return (.registration, database, nil)
        case let .notRegistered(database, _): return (.registration, database, Remedy(.register(database: database), "register the database first"))
        case let .dbidMismatch(_, _, _, file), let .databaseMismatch(_, _, file): return (.identityMismatch, file, Remedy(.inspect(path: file), "check that database, control file and repository belong together"))
        case let .controlFileUnusable(copies, _, repository):
            return (.corrupt, copies.first, repository.map { Remedy(.rebuildCatalog(database: "", repository: $0), "rebuild the control file from the repository") })
        case let .corrupt(file, _, _), let .truncated(file, _, _), let .verificationFailed(file, _):
            return (.corrupt, file, Remedy(.chooseAnotherPoint, "restore from another backup"))
        case let .copyNotCataloged(path, _): return (.invalidRequest, path, nil)
        case let .unsupportedFormat(file, _, _): return (.unsupportedFormat, file, nil)
        case let .newerRelease(file, _, _, _, _): return (.unsupportedFormat, file, nil)
        case let .targetExists(path): return (.invalidRequest, path, nil)
        case .invalidArgument, .invalidSetting: return (.invalidRequest, nil, nil)
        case let .keyFileUnprotected(path, _), let .keyFileInvalid(path, _): return (.invalidRequest, path, Remedy(.inspect(path: path), "fix the encryption key file"))
        case let .wrongEncryptionKey(file, _, keyFile, _): return (.identityMismatch, file, Remedy(.inspect(path: keyFile), "give the key file that holds the master key the keyring names"))
        case let .encryptionKeyRequired(file, _): return (.invalidRequest, file, Remedy(.inspect(path: file), "give the encryption key file (--encryption-key-file or CAIRN_ENCRYPTION_KEY_FILE)"))
        case let .cryptoFailed(_, file, _): return (.ioFailed, file, Remedy(.retry, "run it again"))
        case let .objectStore(url, _): return (.ioFailed, url, Remedy(.retry, "check the object store's endpoint, credentials and bucket, then run it again"))
        case let .dataKeyMissing(file, _, keyring): return (.notFound, file, Remedy(.inspect(path: keyring), "use the keyring of the repository the file belongs to"))
        case let .sqlite(path, _, _), let .databaseBusy(path, _), let .walChanged(path, _): return (.sqlite, path, Remedy(.retry, "run it again"))
        case .captureStalled: return (.capture, nil, nil)
        case let .captureRunning(_, lockFile): return (.capture, lockFile, nil)
        case let .databaseVanished(path, _, _), let .walReplaced(path, _): return (.capture, path, nil)
        case let .readOnlyCatalog(repository): return (.readOnly, repository, nil)
        case let .lockNotAcquired(lockFile, _, _, _): return (.locked, lockFile, Remedy(.retry, "try again once the other command ends"))
        case .cancelled: return (.cancelled, nil, nil)
        }
    }
}
