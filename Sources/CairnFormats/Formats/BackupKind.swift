/// What a backup holds: database pages in the backup-set format, an image copy (a plain
/// database file), or a backup set of archived logs (`cairn backup --archivelog`).
package enum BackupKind: String, Codable, Sendable { case backupSet, imageCopy, archivedLogs }
