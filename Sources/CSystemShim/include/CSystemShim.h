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

/// Takes a lock on `length` bytes at `offset` of `fd` that belongs to the open file
/// description, not to the process (Linux F_OFD_SETLK): it is inherited by child processes
/// with the descriptor and lasts while any descriptor of that description is open. `kind`:
/// 0 unlock, 1 shared, 2 exclusive. Does not wait. Returns 0, or -1 with errno (EAGAIN: held).
int cairn_ofd_lock(int fd, long long offset, long long length, int kind);

/// Whether any lock that conflicts with an exclusive lock is held on the byte range, by any
/// process or open file description, including POSIX locks of this process's other
/// descriptors (Linux F_OFD_GETLK). Returns 1 held, 0 free, -1 on error.
int cairn_range_locked(int fd, long long offset, long long length);

/// The process holding a conflicting POSIX lock on the range (-1 for an open-file-description
/// lock, 0 when free, -2 on error), and its type in `*type` (1 read, 2 write).
int cairn_range_lock_holder(int fd, long long offset, long long length, int *type);

/// pipe2(fds, O_CLOEXEC) (a GNU extension the Swift Glibc module does not export).
int cairn_pipe_cloexec(int fds[2]);

/// A new file with no name in `directory`, readable and writable by its owner only, gone
/// once its last descriptor closes (Linux O_TMPFILE; where the file system lacks it, a file
/// created and unlinked at once). Returns the descriptor, or -1 with errno.
int cairn_open_unnamed(const char *directory);

/// Files to remove if the process is ended by SIGINT, SIGTERM, SIGHUP or SIGPIPE before it
/// removes or renames them itself (a half-written export or import): `cairn_remove_on_signal`
/// registers a copy of `path` and returns its slot (-1 when all 64 are taken);
/// `cairn_remove_on_signal_forget` drops it. Nothing is removed until
/// `cairn_remove_on_signal_install` has installed the handlers (the command line does; a
/// library never replaces its host's handlers). The handler unlinks every registered file, then
/// ends the process by the same signal.
int cairn_remove_on_signal(const char *path);
void cairn_remove_on_signal_forget(int slot);
void cairn_remove_on_signal_install(void);

/// Gives the calling thread (only it: Linux keeps a nice value per thread) the nice value
/// `nice` (0-19: higher yields more). Lowering priority needs no privilege. Returns 0 or -1.
int cairn_lower_thread_priority(int nice);

/// The number of slots of this process's private futex hash (Linux 6.17 and later; 0: the
/// global hash; -1 with errno EINVAL on older kernels).
long cairn_futex_hash_slots(void);
/// Sets it (a power of two); -1 with errno on failure.
int cairn_set_futex_hash_slots(unsigned long slots);

/// Sets the calling thread's timer slack (Linux PR_SET_TIMERSLACK): how much later than asked
/// its sleeps and poll timeouts may end (50 µs by default). Returns 0 or -1.
int cairn_set_timer_slack(unsigned long nanoseconds);

/// Gives the pages of the calling thread's stack below its current depth back to the system
/// (madvise MADV_DONTNEED; they read as zeros when the stack grows into them again), keeping
/// 16 KiB below the caller's frame. For a thread about to sleep long after deep work: its stack
/// would otherwise stay resident at its deepest. Not for the main thread (returns 0). Returns
/// the bytes given back, or -1.
long cairn_trim_stack(void);

#include <spawn.h>
/// Adds "close every descriptor from `lowest` on" to spawn file actions (glibc's
/// posix_spawn_file_actions_addclosefrom_np), so a child gets only the descriptors it is given.
int cairn_spawn_close_from(posix_spawn_file_actions_t *actions, int lowest);
#endif
