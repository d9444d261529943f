// Cairn runs on Linux only: it watches the database's files with inotify, pins SQLite's WAL
// with open-file-description locks (F_OFD_SETLK), keeps a backup's saved pages in an unnamed
// O_TMPFILE file, renames with renameat2, starts writeback with sync_file_range and finds
// processes and lock holders in /proc. None of these has an equivalent written here for other
// systems, so a build elsewhere stops at once rather than failing in odd ways at run time.
#if !os(Linux)
#error("Cairn builds and runs on Linux only (inotify, OFD locks, O_TMPFILE, /proc); see README.md, Platforms.")
#endif
