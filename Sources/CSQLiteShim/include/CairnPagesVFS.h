#ifndef CAIRN_PAGES_VFS_H
#define CAIRN_PAGES_VFS_H
#include <sqlite3.h>

/// A database file served by the caller instead of read from disk, through the "cairn-pages"
/// VFS. `read` fills `amount` bytes at `offset` and returns SQLITE_OK, SQLITE_IOERR_SHORT_READ
/// (past the end, the rest zero-filled) or SQLITE_IOERR_READ; `size` returns the file's size
/// in bytes. Both get `context` and are called on the thread using the connection.
/// `name` and `next` belong to the registry (`cairn_pages_attach`); zero them before attaching.
typedef struct cairn_page_source {
    void *context;
    int (*read)(void *context, void *buffer, int amount, sqlite3_int64 offset);
    sqlite3_int64 (*size)(void *context);
    char name[32];
    struct cairn_page_source *next;
} cairn_page_source;

/// The name the VFS is registered under.
#define CAIRN_PAGES_VFS "cairn-pages"

/// Registers the "cairn-pages" VFS (never as the default), once per process; later calls
/// return the first call's result. The VFS serves a main database whose name is attached
/// (read-only, immutable: no locks, no journal, no WAL), opens temporary files (those SQLite
/// opens without a name: sorter spills, temporary tables) with the default VFS, and refuses
/// every other file: journals, WAL and WAL index, attached databases.
int cairn_pages_register_vfs(void);

/// Makes `source` openable under a new unique name, which it writes to `source->name`
/// ("cairn-pages-N"). `source` must stay valid until `cairn_pages_detach` returns and every
/// connection that opened it is closed.
void cairn_pages_attach(cairn_page_source *source);

/// Forgets `source`: a connection opening its name afterwards fails with SQLITE_CANTOPEN.
void cairn_pages_detach(cairn_page_source *source);

/// How many temporary files connections of the VFS have opened in this process (through the
/// default VFS), for tests.
unsigned long long cairn_pages_temporary_opens(void);
#endif
