#ifndef CAIRN_SQLITE_SHIM_H
#define CAIRN_SQLITE_SHIM_H
#include <sqlite3.h>
#include <time.h>
#include "CairnPagesVFS.h"

/// sqlite3_db_config is variadic and cannot be called from Swift; these wrap the options Cairn uses.
/// Stops this connection from checkpointing the WAL when it closes (Cairn decides when checkpoints run).
int cairn_sqlite_disable_checkpoint_on_close(sqlite3 *db);
/// Turns triggers off for this connection (SQLITE_DBCONFIG_ENABLE_TRIGGER 0): rows it writes
/// fire none of the database's triggers.
int cairn_sqlite_disable_triggers(sqlite3 *db);
/// Each connection allocates page-cache lines one at a time instead of 20 at once (SQLite's
/// default preallocation, ~80 KiB per connection). Only before SQLite is initialized in the
/// process: returns SQLITE_MISUSE afterwards.
int cairn_sqlite_no_page_cache_preallocation(void);

/// SQLITE_TRANSIENT as a function, since the macro does not import into Swift.
sqlite3_destructor_type cairn_sqlite_transient(void);

/// State of a polling busy handler: how long to keep trying, and when the current wait began.
typedef struct {
    long timeout_ms;
    struct timespec started;
} cairn_busy_wait;

/// Installs a busy handler that retries every few hundred microseconds until `wait->timeout_ms`
/// has passed. SQLite's own busy timeout sleeps up to 100 ms between tries, so a lock wanted
/// for a moment rarely catches the short gaps between a busy writer's transactions.
/// `wait` must outlive the connection.
int cairn_sqlite_busy_poll(sqlite3 *db, cairn_busy_wait *wait);
#endif
