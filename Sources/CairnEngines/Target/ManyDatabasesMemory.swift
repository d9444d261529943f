import CSystemShim

/// Memory settings for a process of Cairn's own that protects many databases at once (the
/// agent). Process-wide, so never applied for an application that embeds Cairn.
package enum ManyDatabasesMemory {
    /// Caps glibc's malloc arenas at two: every capture, archiver and shipper thread (three per
    /// database) that allocates while another holds an arena's lock otherwise gets an arena of
    /// its own, up to eight per core, each keeping freed memory of its own (at 500 databases,
    /// 30 MiB more resident for no gain: the data path allocates nothing per page). And has
    /// SQLite connections allocate page-cache lines as needed (see
    /// `SQLiteConnection.skipPageCachePreallocation`). Must come before the threads and the
    /// first use of SQLite; false when SQLite was in use already.
    package static func apply() -> Bool {
        _ = cairn_set_arena_max(2)
        return SQLiteConnection.skipPageCachePreallocation()
    }
}
