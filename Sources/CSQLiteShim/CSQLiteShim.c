#include "CSQLiteShim.h"

int cairn_sqlite_disable_checkpoint_on_close(sqlite3 *db) {
    int on = 0;
    return sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, &on);
}

int cairn_sqlite_disable_triggers(sqlite3 *db) {
    int on = 1;
    return sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, &on);
}

sqlite3_destructor_type cairn_sqlite_transient(void) { return SQLITE_TRANSIENT; }

static int cairn_busy_poll_handler(void *context, int count) {
    cairn_busy_wait *wait = context;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (count == 0) wait->started = now;
    long elapsed_ms = (now.tv_sec - wait->started.tv_sec) * 1000 + (now.tv_nsec - wait->started.tv_nsec) / 1000000;
    if (elapsed_ms >= wait->timeout_ms) return 0;
    // Short sleeps first (a writer between transactions frees the lock for microseconds),
    // longer ones once the holder is evidently in a long transaction.
    struct timespec pause = { 0, elapsed_ms < 1000 ? 200000 : 2000000 };
    nanosleep(&pause, NULL);
    return 1;
}

int cairn_sqlite_busy_poll(sqlite3 *db, cairn_busy_wait *wait) {
    return sqlite3_busy_handler(db, cairn_busy_poll_handler, wait);
}

int cairn_sqlite_no_page_cache_preallocation(void) {
    return sqlite3_config(SQLITE_CONFIG_PAGECACHE, (void *)0, 0, 0);
}
