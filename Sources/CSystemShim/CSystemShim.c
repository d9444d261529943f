#define _GNU_SOURCE
#include <malloc.h>
#include <spawn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "CSystemShim.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#endif

int cairn_rename_noreplace(const char *from, const char *to) {
    return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
}

int cairn_start_writeback(int fd, long long offset, long long length) {
    return sync_file_range(fd, (off_t)offset, (off_t)length, SYNC_FILE_RANGE_WRITE);
}

int cairn_o_direct(void) { return O_DIRECT; }

int cairn_set_mmap_threshold(int bytes) {
    return mallopt(M_MMAP_THRESHOLD, bytes);
}

int cairn_ofd_lock(int fd, long long offset, long long length, int kind) {
    struct flock f;
    memset(&f, 0, sizeof(f));
    f.l_type = kind == 0 ? F_UNLCK : (kind == 1 ? F_RDLCK : F_WRLCK);
    f.l_whence = SEEK_SET;
    f.l_start = (off_t)offset;
    f.l_len = (off_t)length;
    f.l_pid = 0;
    return fcntl(fd, F_OFD_SETLK, &f);
}

int cairn_range_locked(int fd, long long offset, long long length) {
    struct flock f;
    memset(&f, 0, sizeof(f));
    f.l_type = F_WRLCK;
    f.l_whence = SEEK_SET;
    f.l_start = (off_t)offset;
    f.l_len = (off_t)length;
    f.l_pid = 0;
    if (fcntl(fd, F_OFD_GETLK, &f) != 0) return -1;
    return f.l_type != F_UNLCK;
}

int cairn_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

int cairn_spawn_close_from(posix_spawn_file_actions_t *actions, int lowest) {
    return posix_spawn_file_actions_addclosefrom_np(actions, lowest);
}

int cairn_range_lock_holder(int fd, long long offset, long long length, int *type) {
    struct flock f;
    memset(&f, 0, sizeof(f));
    f.l_type = F_WRLCK;
    f.l_whence = SEEK_SET;
    f.l_start = (off_t)offset;
    f.l_len = (off_t)length;
    f.l_pid = 0;
    if (fcntl(fd, F_OFD_GETLK, &f) != 0) return -2;
    if (f.l_type == F_UNLCK) return 0;
    *type = f.l_type == F_RDLCK ? 1 : 2;
    return f.l_pid;
}

int cairn_open_unnamed(const char *directory) {
    int fd = open(directory, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)) return fd;
    char path[4096];
    if (snprintf(path, sizeof path, "%s/.cairn-unnamed-XXXXXX", directory) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    fd = mkostemp(path, O_CLOEXEC);
    if (fd >= 0) unlink(path);
    return fd;
}

int cairn_lower_thread_priority(int nice) {
    return setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice);
}

#ifndef PR_FUTEX_HASH
#define PR_FUTEX_HASH 78
#define PR_FUTEX_HASH_SET_SLOTS 1
#define PR_FUTEX_HASH_GET_SLOTS 2
#endif

long cairn_futex_hash_slots(void) {
    return prctl(PR_FUTEX_HASH, PR_FUTEX_HASH_GET_SLOTS, 0, 0, 0);
}

int cairn_set_futex_hash_slots(unsigned long slots) {
    return prctl(PR_FUTEX_HASH, PR_FUTEX_HASH_SET_SLOTS, slots, 0, 0);
}

int cairn_set_timer_slack(unsigned long nanoseconds) {
    return prctl(PR_SET_TIMERSLACK, nanoseconds, 0, 0, 0);
}

__attribute__((noinline)) long cairn_trim_stack(void) {
    if (getpid() == (pid_t)syscall(SYS_gettid)) return 0;
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) return -1;
    void *base = NULL;
    size_t size = 0;
    int r = pthread_attr_getstack(&attr, &base, &size);
    pthread_attr_destroy(&attr);
    if (r != 0 || base == NULL) return -1;
    volatile char here = 0;
    uintptr_t low = ((uintptr_t)base + 4095) & ~(uintptr_t)4095;
    uintptr_t top = ((uintptr_t)&here - 16384) & ~(uintptr_t)4095;
    if ((uintptr_t)&here < (uintptr_t)base || (uintptr_t)&here >= (uintptr_t)base + size) return -1;
    if (top <= low) return 0;
    if (madvise((void *)low, top - low, MADV_DONTNEED) != 0) return -1;
    return (long)(top - low);
}

#define CAIRN_REMOVE_SLOTS 64
static _Atomic(char *) removeOnSignal[CAIRN_REMOVE_SLOTS];

int cairn_remove_on_signal(const char *path) {
    char *copy = strdup(path);
    if (copy == NULL) return -1;
    for (int i = 0; i < CAIRN_REMOVE_SLOTS; i++) {
        char *expected = NULL;
        if (atomic_compare_exchange_strong(&removeOnSignal[i], &expected, copy)) return i;
    }
    free(copy);
    return -1;
}

void cairn_remove_on_signal_forget(int slot) {
    if (slot < 0 || slot >= CAIRN_REMOVE_SLOTS) return;
    free(atomic_exchange(&removeOnSignal[slot], NULL));
}

static void cairn_remove_registered(int sig) {
    for (int i = 0; i < CAIRN_REMOVE_SLOTS; i++) {
        char *path = atomic_load(&removeOnSignal[i]);
        if (path != NULL) unlink(path);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

void cairn_remove_on_signal_install(void) {
    static atomic_int installed = 0;
    if (atomic_exchange(&installed, 1)) return;
    int signals[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
    for (unsigned i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        struct sigaction old;
        if (sigaction(signals[i], NULL, &old) != 0 || old.sa_handler != SIG_DFL) continue;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = cairn_remove_registered;
        sigemptyset(&sa.sa_mask);
        sigaction(signals[i], &sa, NULL);
    }
}
