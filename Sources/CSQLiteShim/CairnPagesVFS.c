#include "CairnPagesVFS.h"
#include <pthread.h>
#include <stdio.h>
#include <string.h>

// The "cairn-pages" VFS: a main database file whose bytes come from a cairn_page_source
// (Swift code), never from disk. It is read-only and immutable: SQLite never writes it,
// never locks it and never looks for its journal or WAL. Temporary files (opened without a
// name) go to the default VFS; every other file is refused.

/// An open main database: SQLite's file header, then the source serving it.
typedef struct {
    sqlite3_file base;
    cairn_page_source *source;
} cairn_page_file;

static sqlite3_vfs *default_vfs;
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static cairn_page_source *registry;
static unsigned long long next_number;
static unsigned long long temporary_opens;

// MARK: the main database file

static int page_close(sqlite3_file *file) { (void)file; return SQLITE_OK; }

static int page_read(sqlite3_file *file, void *buffer, int amount, sqlite3_int64 offset) {
    cairn_page_source *source = ((cairn_page_file *)file)->source;
    return source->read(source->context, buffer, amount, offset);
}

static int page_write(sqlite3_file *file, const void *buffer, int amount, sqlite3_int64 offset) {
    (void)file; (void)buffer; (void)amount; (void)offset;
    return SQLITE_READONLY;
}

static int page_truncate(sqlite3_file *file, sqlite3_int64 size) { (void)file; (void)size; return SQLITE_READONLY; }

// Nothing was written, so there is nothing to sync.
static int page_sync(sqlite3_file *file, int flags) { (void)file; (void)flags; return SQLITE_OK; }

static int page_file_size(sqlite3_file *file, sqlite3_int64 *size) {
    cairn_page_source *source = ((cairn_page_file *)file)->source;
    *size = source->size(source->context);
    return SQLITE_OK;
}

// Immutable: locks always succeed, and no other connection ever holds one.
static int page_lock(sqlite3_file *file, int level) { (void)file; (void)level; return SQLITE_OK; }

static int page_check_reserved_lock(sqlite3_file *file, int *reserved) {
    (void)file;
    *reserved = 0;
    return SQLITE_OK;
}

static int page_file_control(sqlite3_file *file, int op, void *arg) { (void)file; (void)op; (void)arg; return SQLITE_NOTFOUND; }

static int page_sector_size(sqlite3_file *file) { (void)file; return 512; }

static int page_device_characteristics(sqlite3_file *file) { (void)file; return SQLITE_IOCAP_IMMUTABLE; }

// Version 1: no shared memory (so no WAL index can exist) and no memory mapping.
static const sqlite3_io_methods page_methods = {
    1, page_close, page_read, page_write, page_truncate, page_sync, page_file_size,
    page_lock, page_lock, page_check_reserved_lock, page_file_control, page_sector_size,
    page_device_characteristics, NULL, NULL, NULL, NULL, NULL, NULL,
};

// MARK: the VFS

/// The attached source named `name`, or NULL.
static cairn_page_source *find_source(const char *name) {
    pthread_mutex_lock(&registry_lock);
    cairn_page_source *s = registry;
    while (s && strcmp(s->name, name) != 0) s = s->next;
    pthread_mutex_unlock(&registry_lock);
    return s;
}

static int vfs_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out_flags) {
    (void)vfs;
    file->pMethods = NULL;
    // Temporary files have no name: sorter spills, temporary tables and indexes, statement journals.
    if (name == NULL) {
        __atomic_fetch_add(&temporary_opens, 1, __ATOMIC_RELAXED);
        return default_vfs->xOpen(default_vfs, name, file, flags, out_flags);
    }
    cairn_page_source *source = (flags & SQLITE_OPEN_MAIN_DB) ? find_source(name) : NULL;
    if (source == NULL) return SQLITE_CANTOPEN;
    ((cairn_page_file *)file)->source = source;
    file->pMethods = &page_methods;
    if (out_flags) *out_flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_MAIN_DB;
    return SQLITE_OK;
}

static int vfs_delete(sqlite3_vfs *vfs, const char *name, int sync_dir) {
    (void)vfs; (void)name; (void)sync_dir;
    return SQLITE_IOERR_DELETE;
}

// No file of this VFS exists besides the served database (which SQLite never asks about).
static int vfs_access(sqlite3_vfs *vfs, const char *name, int flags, int *result) {
    (void)vfs; (void)name; (void)flags;
    *result = 0;
    return SQLITE_OK;
}

// Names are kept as given: they are registry keys, not paths.
static int vfs_full_pathname(sqlite3_vfs *vfs, const char *name, int size, char *out) {
    (void)vfs;
    if ((int)strlen(name) >= size) return SQLITE_CANTOPEN;
    sqlite3_snprintf(size, out, "%s", name);
    return SQLITE_OK;
}

static void *vfs_dl_open(sqlite3_vfs *vfs, const char *path) { (void)vfs; return default_vfs->xDlOpen(default_vfs, path); }
static void vfs_dl_error(sqlite3_vfs *vfs, int size, char *out) { (void)vfs; default_vfs->xDlError(default_vfs, size, out); }
static void (*vfs_dl_sym(sqlite3_vfs *vfs, void *handle, const char *symbol))(void) {
    (void)vfs;
    return default_vfs->xDlSym(default_vfs, handle, symbol);
}
static void vfs_dl_close(sqlite3_vfs *vfs, void *handle) { (void)vfs; default_vfs->xDlClose(default_vfs, handle); }
static int vfs_randomness(sqlite3_vfs *vfs, int size, char *out) { (void)vfs; return default_vfs->xRandomness(default_vfs, size, out); }
static int vfs_sleep(sqlite3_vfs *vfs, int microseconds) { (void)vfs; return default_vfs->xSleep(default_vfs, microseconds); }
static int vfs_current_time(sqlite3_vfs *vfs, double *now) { (void)vfs; return default_vfs->xCurrentTime(default_vfs, now); }
static int vfs_get_last_error(sqlite3_vfs *vfs, int size, char *out) {
    (void)vfs;
    return default_vfs->xGetLastError ? default_vfs->xGetLastError(default_vfs, size, out) : 0;
}
static int vfs_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *now) {
    (void)vfs;
    if (default_vfs->iVersion >= 2 && default_vfs->xCurrentTimeInt64) return default_vfs->xCurrentTimeInt64(default_vfs, now);
    double days;
    int rc = default_vfs->xCurrentTime(default_vfs, &days);
    *now = (sqlite3_int64)(days * 86400000.0);
    return rc;
}

static sqlite3_vfs pages_vfs;
static pthread_once_t register_once = PTHREAD_ONCE_INIT;
static int register_result = SQLITE_ERROR;

static void register_vfs(void) {
    int rc = sqlite3_initialize();
    if (rc != SQLITE_OK) { register_result = rc; return; }
    default_vfs = sqlite3_vfs_find(NULL);
    if (default_vfs == NULL) { register_result = SQLITE_ERROR; return; }
    pages_vfs.iVersion = 2;
    // Temporary files are opened by the default VFS in the space SQLite allocates for ours.
    pages_vfs.szOsFile = default_vfs->szOsFile > (int)sizeof(cairn_page_file) ? default_vfs->szOsFile : (int)sizeof(cairn_page_file);
    pages_vfs.mxPathname = default_vfs->mxPathname;
    pages_vfs.zName = CAIRN_PAGES_VFS;
    pages_vfs.xOpen = vfs_open;
    pages_vfs.xDelete = vfs_delete;
    pages_vfs.xAccess = vfs_access;
    pages_vfs.xFullPathname = vfs_full_pathname;
    pages_vfs.xDlOpen = vfs_dl_open;
    pages_vfs.xDlError = vfs_dl_error;
    pages_vfs.xDlSym = vfs_dl_sym;
    pages_vfs.xDlClose = vfs_dl_close;
    pages_vfs.xRandomness = vfs_randomness;
    pages_vfs.xSleep = vfs_sleep;
    pages_vfs.xCurrentTime = vfs_current_time;
    pages_vfs.xGetLastError = vfs_get_last_error;
    pages_vfs.xCurrentTimeInt64 = vfs_current_time_int64;
    register_result = sqlite3_vfs_register(&pages_vfs, 0);
}

int cairn_pages_register_vfs(void) {
    pthread_once(&register_once, register_vfs);
    return register_result;
}

void cairn_pages_attach(cairn_page_source *source) {
    pthread_mutex_lock(&registry_lock);
    snprintf(source->name, sizeof source->name, CAIRN_PAGES_VFS "-%llu", ++next_number);
    source->next = registry;
    registry = source;
    pthread_mutex_unlock(&registry_lock);
}

void cairn_pages_detach(cairn_page_source *source) {
    pthread_mutex_lock(&registry_lock);
    cairn_page_source **link = &registry;
    while (*link && *link != source) link = &(*link)->next;
    if (*link) *link = source->next;
    source->next = NULL;
    pthread_mutex_unlock(&registry_lock);
}

unsigned long long cairn_pages_temporary_opens(void) {
    return __atomic_load_n(&temporary_opens, __ATOMIC_RELAXED);
}
