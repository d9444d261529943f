#ifndef CAIRN_SQLITE_SHIM_H
#define CAIRN_SQLITE_SHIM_H
#include <sqlite3.h>

/// sqlite3_db_config is variadic and cannot be called from Swift; these wrap the options Cairn uses.
/// Stops this connection from checkpointing the WAL when it closes (Cairn decides when checkpoints run).
int cairn_sqlite_disable_checkpoint_on_close(sqlite3 *db);

/// SQLITE_TRANSIENT as a function, since the macro does not import into Swift.
sqlite3_destructor_type cairn_sqlite_transient(void);
#endif
