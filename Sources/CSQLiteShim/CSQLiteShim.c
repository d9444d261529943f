#include "CSQLiteShim.h"

int cairn_sqlite_disable_checkpoint_on_close(sqlite3 *db) {
    int on = 0;
    return sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, &on);
}

sqlite3_destructor_type cairn_sqlite_transient(void) { return SQLITE_TRANSIENT; }
