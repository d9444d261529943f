import Foundation

/// Every failure a user can reach. Each description says what happened, to which file,
/// and what to do next. (The CLI maps each to its exit status; the public API to a `CairnError`.)
package enum EngineError: Error, CustomStringConvertible, Equatable {
    case io(operation: String, path: String, errno: Int32)
    case diskFull(path: String, detail: String)
    case notSQLite(path: String, reason: String)
    case notWALCapable(path: String, reason: String)
    case databaseMissing(path: String)
    case sqlite(path: String, code: Int32, message: String)
    case alreadyRegistered(database: String, controlFile: String)
    case notRegistered(database: String, looked: [String])
    case dbidMismatch(database: String, expected: UInt64, found: UInt64, file: String)
    case databaseMismatch(database: String, registered: String, file: String)
    case controlFileUnusable(copies: [String], reasons: [String], repository: String?)
    case corrupt(file: String, offset: UInt64?, detail: String)
    case truncated(file: String, expected: UInt64, actual: UInt64)
    case missingFile(path: String, detail: String)
    case unsupportedFormat(file: String, found: Int, supported: Int)
    /// A file written by a newer Cairn release (`written`) than this one (`running`), whose
    /// format this release may not verify as it must.
    case newerRelease(file: String, written: String, running: String, format: Int, reads: Int)
    case backupNotFound(id: UInt64, repository: String)
    case noBackups(database: String)
    case targetExists(path: String)
    case databaseBusy(path: String, detail: String)
    case invalidArgument(String)
    case verificationFailed(file: String, detail: String)
    case walChanged(path: String, detail: String)
    /// `reason`: why the log is not archived, when known (e.g. the recovery area is full).
    case captureStalled(group: Int, sequence: UInt64, reason: String? = nil)
    case captureRunning(pid: Int32?, lockFile: String)
    case missingLog(sequence: UInt64, incarnation: Int, looked: [String], recoveredTo: UInt64)
    case unrecoverable(String)
    case readOnlyCatalog(repository: String)
    case copyNotCataloged(path: String, detail: String)
    case recoveryAreaFull(limit: UInt64, used: UInt64, needed: UInt64, path: String)
    case restorePointNotFound(name: String, database: String)
    /// The database file was deleted or replaced while capture ran; capture stopped after
    /// capturing and archiving everything it could still read.
    case databaseVanished(path: String, replaced: Bool, scn: UInt64)
    /// The WAL or WAL index was deleted or replaced under a guardian's worker: it captured what
    /// the old WAL held and ends, for the guardian to pin the new files and start another.
    case walReplaced(path: String, scn: UInt64)
    case noBackupForRestorePoint(name: String, scn: UInt64, database: String)
    /// Another Cairn command holds a lock this one needs: `--no-wait` (waited 0) or the wait
    /// ran out. `holders` says which processes, `purpose` what the lock was needed for.
    case lockNotAcquired(lockFile: String, holders: String, purpose: String, waited: Double)
    /// The caller cancelled the operation; what it had written is removed or left resumable.
    case cancelled(operation: String)
    /// A setting given a value it cannot take, named by each front end its own way.
    case invalidSetting(Setting, value: String, problem: String)
    /// The encryption key file can be read or written by group or others (`mode`, octal).
    case keyFileUnprotected(path: String, mode: String)
    /// The encryption key file is missing, unreadable or does not hold a key (`problem` never
    /// quotes its content).
    case keyFileInvalid(path: String, problem: String)
    /// `file` (a keyring) is wrapped under master key `expected`, but `keyFile` holds `found`.
    case wrongEncryptionKey(file: String, expected: String, keyFile: String, found: String)
    /// `file` was encrypted with data key `keyID`, which `keyring` does not hold.
    case dataKeyMissing(file: String, keyID: String, keyring: String)
    /// `file` is encrypted (under master key `masterKeyID`) and no key file was given.
    case encryptionKeyRequired(file: String, masterKeyID: String)
    /// The crypto library failed where it does not fail on valid input (not an
    /// authentication failure: those are `corrupt`).
    case cryptoFailed(operation: String, file: String, detail: String)
    /// Object storage (an S3-compatible service) failed or refused an operation on `url`
    /// (`s3://BUCKET/KEY`, never holding a secret): `problem` says what the service answered,
    /// or why it could not be asked, and what to do.
    case objectStore(url: String, problem: String)

    package var description: String {
        switch self {
        case let .io(op, path, err):
            let reason = String(cString: strerror(err))
            return "\(op) failed for \(path): \(reason) (errno \(err)). Check that the path exists, is writable and that the disk is healthy, then run the command again."
        case let .diskFull(path, detail):
            return "No space left on the device holding \(path) (\(detail)). Nothing was recorded and partial files were removed; free space or choose another location, then run the command again."
        case let .notSQLite(path, reason):
            return "\(path) is not a SQLite database (\(reason)). Give the path of a SQLite database file."
        case let .notWALCapable(path, reason):
            return "\(path) cannot be put in WAL mode (\(reason)). Close programs that hold it in exclusive mode and run the command again."
        case let .databaseMissing(path):
            return "The database \(path) does not exist. Check the path; to bring it back from a backup run `cairn restore \(path) --to \(path)`."
        case let .sqlite(path, code, message):
            return "SQLite reported error \(code) on \(path): \(message). Check that the file is a healthy SQLite database and that no program holds an exclusive lock on it."
        case let .alreadyRegistered(db, ctl):
            return "\(db) is already registered with Cairn (control file \(ctl)). Use `cairn status \(db)` to see it; to start over, remove that control file and its repository first."
        case let .notRegistered(db, looked):
            return "\(db) is not registered with Cairn: no control file was found (looked in \(looked.joined(separator: ", "))). Run `cairn init \(db)` first, or pass --repo with the repository that holds its backups."
        case let .dbidMismatch(db, expected, found, file):
            return "Database identity mismatch for \(db): \(file) belongs to DBID \(String(expected)) but the database is registered as DBID \(String(found)). This repository or control file belongs to another database; pass the right --repo, or register this database with `cairn init`. Nothing was changed."
        case let .databaseMismatch(db, registered, file):
            return "\(db) is not the database this repository protects: \(file) belongs to \(registered). Pass the --repo of \(db), or register it with `cairn init \(db) --repo DIR` using a new directory. Nothing was changed."
        case let .controlFileUnusable(copies, reasons, repo):
            var s = "Every copy of the control file is unusable:\n"
            for (c, r) in zip(copies, reasons) { s += "  \(c): \(r)\n" }
            let r = repo.map { " --repo \($0)" } ?? ""
            s += "The backups and archived logs in the repository are intact: rebuild the control file from them with `cairn catalog rebuild DB\(r)` (the damaged copies are kept aside)."
            return s
        case let .corrupt(file, offset, detail):
            let at = offset.map { " at offset \($0)" } ?? ""
            return "\(file) is corrupt\(at): \(detail). Do not use this file; restore from another backup (`cairn list backups DB`) or run `cairn validate DB` to check the others."
        case let .truncated(file, expected, actual):
            return "\(file) is truncated: expected \(expected) bytes, found \(actual). Do not use this file; restore from another backup (`cairn list backups DB`) or take a new backup."
        case let .missingFile(path, detail):
            return "\(path) is missing (\(detail)). Restore the file from a copy of the repository or use another backup (`cairn list backups DB`)."
        case let .newerRelease(file, written, running, format, reads):
            return "\(file) was written by Cairn \(written) (format \(format)), a newer release than this Cairn \(running) (which reads format \(reads) and earlier): it is not read, since a newer release may verify it differently. Use Cairn \(written) or newer to read it; nothing was changed."
        case let .unsupportedFormat(file, found, supported):
            return "\(file) uses format version \(found), but this release of Cairn reads versions up to \(supported). Use Cairn release \(found).x or newer to read it; nothing was changed."
        case let .backupNotFound(id, repo):
            return "No backup with id \(id) in \(repo). Run `cairn list backups DB` to see the available ids."
        case let .noBackups(db):
            return "No usable backup of \(db) is recorded. Take one with `cairn backup \(db)` first."
        case let .targetExists(path):
            return "\(path) already exists; Cairn does not overwrite files. Choose another --to path, or pass --force to replace it."
        case let .databaseBusy(path, detail):
            return "\(path) is in use by another program (\(detail)). Stop the programs that have it open and run the command again."
        case let .invalidArgument(message):
            return message
        case let .verificationFailed(file, detail):
            return "Verification failed for \(file): \(detail). The result was not handed out; run `cairn validate DB` and restore from another backup."
        case let .captureStalled(group, sequence, reason):
            if let reason {
                return "Capture is waiting: online log group \(group) still holds log sequence \(sequence), which cannot be archived: \(reason) Nothing is lost (SQLite keeps the frames in the WAL, which grows meanwhile); capture resumes by itself once the log is archived."
            }
            return "Capture is waiting: online log group \(group) still holds log sequence \(sequence), which is not archived yet, and every other group is in use. Nothing is lost (SQLite keeps the frames in the WAL, which grows meanwhile); check that the archive destinations are reachable (`cairn list logs DB`)."
        case let .recoveryAreaFull(limit, used, needed, path):
            return "The recovery area \(path) is full: its limit is \(ByteCount.text(limit)) (recovery-area-size), \(ByteCount.text(used)) are in use and \(ByteCount.text(needed)) more are needed, and nothing else can be freed without deleting what the retention policy or a guaranteed restore point needs. Nothing was lost. Raise the limit with `cairn configure DB recovery-area-size SIZE` (or `unlimited`), or delete backups (`cairn report obsolete DB`, `cairn delete obsolete DB`, a shorter retention policy, dropping guaranteed restore points)."
        case let .databaseVanished(path, replaced, scn):
            let what = replaced ? "was replaced by another file" : "was deleted (or moved away)"
            return "Capture of \(path) stopped: the database file \(what) while capture ran. Everything captured through SCN \(scn) is in the logs (the current log was closed and archived); bring the database back with `cairn restore \(path) --to PATH` (or `--in-place`), then start capture again."
        case let .walReplaced(path, scn):
            return "The WAL or WAL index of \(path) was deleted or replaced while capture ran; everything committed to the old one was captured (through SCN \(scn)). Capture restarts on the new files and checks them against the captured state."
        case let .restorePointNotFound(name, db):
            return "No restore point named '\(name)' is recorded for \(db). Run `cairn restore-point \(db) list` to see them."
        case let .noBackupForRestorePoint(name, scn, db):
            return "Restore point '\(name)' cannot be guaranteed: no usable backup of \(db) at or before SCN \(scn) exists on the current incarnation's lineage (with no gap after it). Take a backup first with `cairn backup \(db)`, then create the point again (or create it without --guarantee)."
        case let .invalidSetting(setting, value, problem):
            return Self.settingMessage(setting.flag, value, problem)
        case let .cancelled(operation):
            return "\(operation) was cancelled; nothing it wrote is recorded, run it again when needed"
        case let .lockNotAcquired(lockFile, holders, purpose, waited):
            let how = waited == 0
                ? "--no-wait was given"
                : "gave up after waiting \(Self.seconds(waited))"
            return "\(holders) holds \(lockFile), which this command needs to \(purpose); \(how). Nothing was changed. Run the command again once that process has finished, or let it wait longer with --wait SECONDS."
        case let .captureRunning(pid, lock):
            return "Capture is already running\(pid.map { " in process \($0)" } ?? "") (lock \(lock)). Stop it first, or let it do the work (it captures and archives continuously)."
        case let .missingLog(sequence, incarnation, looked, recoveredTo):
            return "Log sequence \(sequence) of incarnation \(incarnation) is missing or damaged everywhere it was looked for (\(looked.joined(separator: ", "))). Recovery can reach SCN \(recoveredTo) at most; bring the log back into an archive destination, or pass --allow-incomplete to accept SCN \(recoveredTo)."
        case let .unrecoverable(message):
            return message
        case let .readOnlyCatalog(repo):
            return "The database was opened from the repository \(repo) alone (in memory, read-only), so nothing can be recorded. To protect it again, rebuild its control file with `cairn catalog rebuild DB --repo \(repo)`."
        case let .copyNotCataloged(path, detail):
            return "\(path) cannot be cataloged: \(detail). Nothing was recorded and \(path) was not changed."
        case let .keyFileUnprotected(path, mode):
            return "The encryption key file \(path) can be read or written by other users (mode \(mode)); Cairn does not use a key that others can read or replace. Run `chmod 600 \(path)` and run the command again (if others may have read the key, also make a new one and rotate the keyring to it)."
        case let .keyFileInvalid(path, problem):
            return "The encryption key file \(path) cannot be used: \(problem). A key file holds one 256-bit key as 64 hexadecimal characters (a trailing newline is allowed), as `openssl rand -hex 32` writes it. If backups were written with this key, restore the file from where you keep a copy of it; a new key cannot read them."
        case let .wrongEncryptionKey(file, expected, keyFile, found):
            return "\(file) is encrypted under master key \(expected), but the key file \(keyFile) holds key \(found). Give the key file that holds key \(expected) (CAIRN_ENCRYPTION_KEY_FILE); if the keyring was rotated to a new key, give the new key's file. Nothing was changed."
        case let .dataKeyMissing(file, keyID, keyring):
            return "\(file) was encrypted with data key \(keyID), which the keyring \(keyring) does not hold. Use the keyring of the repository this file belongs to; without that data key the file cannot be decrypted. Nothing was changed."
        case let .encryptionKeyRequired(file, masterKeyID):
            return "\(file) is encrypted under master key \(masterKeyID), and no encryption key file was given. Give the key file that holds key \(masterKeyID) with --encryption-key-file FILE or the environment variable CAIRN_ENCRYPTION_KEY_FILE. Nothing was changed."
        case let .cryptoFailed(operation, file, detail):
            return "\(operation) failed for \(file) in the crypto library (\(detail)). Nothing was recorded; run the command again, and report it if it happens again."
        case let .objectStore(url, problem):
            return problem.contains(url) ? problem : "\(url): \(problem)"
        case let .walChanged(path, detail):
            return "The write-ahead log \(path) changed in a way SQLite does not allow while Cairn read it (\(detail)). Nothing was recorded; run the command again."
        }
    }

    package static func seconds(_ s: Double) -> String {
        s == s.rounded() ? "\(Int(s)) s" : String(format: "%.1f s", s)
    }

    /// Maps an errno from a write path to the right case (ENOSPC/EDQUOT become `diskFull`).
    package static func fromErrno(_ op: String, _ path: String, _ err: Int32) -> EngineError {
        if err == ENOSPC || err == EDQUOT { return .diskFull(path: path, detail: "\(op): \(String(cString: strerror(err)))") }
        return .io(operation: op, path: path, errno: err)
    }
}

extension EngineError {
    /// The description with `DB` in every suggested `cairn …` command replaced by the real
    /// database path (quoted for a shell when it needs it): what the CLI prints and what the
    /// public error's message says.
    package func description(database: String?) -> String {
        guard let database else { return description }
        let path = database.allSatisfy({ $0.isLetter || $0.isNumber || "/._-+:@%".contains($0) }) ? database : "'" + database.replacingOccurrences(of: "'", with: "'\\''") + "'"
        var out = ""
        var rest = Substring(description)
        while let open = rest.range(of: "`cairn ") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstIndex(of: "`") else { rest = rest[open.lowerBound...]; break }
            let command = rest[open.lowerBound..<close]
            out += command.split(separator: " ", omittingEmptySubsequences: false).map { $0 == "DB" ? Substring(path) : $0 }.joined(separator: " ") + "`"
            rest = rest[rest.index(after: close)...]
        }
        return out + rest
    }
}

/// A setting as the command line spells it (`flag`) and as the library's API does (`property`).
package struct Setting: Sendable, Equatable {
    package let flag: String
    package let property: String

    package static let logGroups = Setting(flag: "--log-groups", property: "logGroups")
    package static let minSucceed = Setting(flag: "--min-succeed", property: "minSucceed")
    package static let logSize = Setting(flag: "--log-size", property: "logSizeBytes")
    package static let archiveTimeout = Setting(flag: "--archive-timeout", property: "archiveTimeoutSeconds")
    package static let logMemberDirectory = Setting(flag: "--log-member-dir", property: "logMemberDirectories")
    package static let fileMode = Setting(flag: "--mode", property: "fileMode")
    package static let keepUntil = Setting(flag: "--keep-until", property: "keepUntil")
    package static let restoreTarget = Setting(flag: "--to", property: "restore(to:)")
    package static let backupLevel = Setting(flag: "--level", property: "level")
    package static let imageCopy = Setting(flag: "--as-copy", property: "imageCopy")
    package static let cumulative = Setting(flag: "--cumulative", property: "cumulative")
    package static let maxPieceSize = Setting(flag: "--max-piece-size", property: "maxPieceSize")
    package static let repository = Setting(flag: "--repo", property: "repository")
}

extension EngineError {
    static func settingMessage(_ name: String, _ value: String, _ problem: String) -> String {
        (value.isEmpty ? name : "\(name) \(value)") + ": " + problem
    }

    /// The description with a setting named as the library's API names it (`logGroups`, not
    /// `--log-groups`): what the public API's error says.
    package var apiDescription: String {
        if case let .invalidSetting(setting, value, problem) = self { return Self.settingMessage(setting.property, value, problem) }
        return description
    }
}
