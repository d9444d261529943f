#ifndef CAIRN_SYSTEM_SHIM_H
#define CAIRN_SYSTEM_SHIM_H
/// rename(2) that fails with EEXIST instead of replacing an existing target (Linux renameat2).
int cairn_rename_noreplace(const char *from, const char *to);


/// Starts writeback of a byte range without waiting for it (Linux sync_file_range with
/// SYNC_FILE_RANGE_WRITE), so a later fsync has little left to do. Returns 0 or -1.
int cairn_start_writeback(int fd, long long offset, long long length);

/// The O_DIRECT open flag (a GNU extension the Swift Glibc module does not export).
int cairn_o_direct(void);

/// Makes allocations of at least `bytes` come from mmap and return to the system when freed
/// (glibc's M_MMAP_THRESHOLD, fixed so it no longer grows after the first free).
int cairn_set_mmap_threshold(int bytes);
#endif
