/// Memory settings for a process of Cairn's own that protects many databases at once (the
/// agent). Process-wide, so never applied for an application that embeds Cairn.
package enum ManyDatabasesMemory {
    /// Has SQLite connections allocate page-cache lines as needed instead of preallocating
    /// ~80 KiB each (see `SQLiteConnection.skipPageCachePreallocation`; the agent keeps two
    /// per database: at 500 databases, 290 -> 150 MiB resident). Must come before the
    /// process's first use of SQLite; false when SQLite was in use already.
    package static func apply() -> Bool {
        SQLiteConnection.skipPageCachePreallocation()
    }
}
