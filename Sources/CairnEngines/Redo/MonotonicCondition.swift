import Foundation

/// A mutex and a condition variable whose timed waits run on the monotonic clock (a change of
/// the wall clock neither ends a wait early nor makes it last longer). No file descriptor:
/// hundreds of captures in one process each wait on one of these.
final class MonotonicCondition: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, clockid_t(CLOCK_MONOTONIC))
        pthread_cond_init(cond, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        mutex.deallocate()
    }

    /// Runs `body` holding the mutex (`wait` may be called inside it).
    func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Inside `withLock`: lets go of the mutex until signalled or until `deadline` (monotonic
    /// nanoseconds, see `now`), and takes it again. False once the deadline has passed.
    /// Spurious wake-ups happen: callers look again at what they wait for.
    func wait(until deadline: UInt64) -> Bool {
        guard deadline > Self.now() else { return false }
        var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        return pthread_cond_timedwait(cond, mutex, &ts) != ETIMEDOUT
    }

    /// Wakes the thread waiting (inside `withLock`, or about to be: call it holding the mutex).
    func signal() { pthread_cond_broadcast(cond) }

    /// The monotonic clock, in nanoseconds.
    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// `now()` plus `milliseconds` (none below zero).
    static func deadline(afterMs milliseconds: Int32) -> UInt64 { now() + UInt64(max(0, milliseconds)) * 1_000_000 }
}
