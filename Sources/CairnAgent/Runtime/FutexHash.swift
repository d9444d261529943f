import CSystemShim

/// The size of the process's private futex hash, made to fit the agent's threads.
///
/// Since Linux 6.17 a process's futexes (every mutex, condition variable and sleeping thread
/// of its own) hash into a table of the process's own, sized from the CPUs: 16 slots on two.
/// An agent protecting 500 databases runs about three threads for each (capture, archiver,
/// shipper), most of them asleep on a futex, so each slot chained about a hundred waiters and
/// every wake-up walked its slot's chain under the slot's lock: `futex_wake` alone was 15 % of
/// the agent's CPU while 50 of the databases were written (`perf record`).
enum FutexHash {
    static let threadsPerDatabase = 3
    static let maxSlots = 1 << 16

    /// Grows the private hash to `slots(for: databases)` when it is smaller; the slots in use
    /// after (nil: the kernel has no private hash, or the process uses the global one).
    @discardableResult
    static func fit(databases: Int) -> Int? {
        let current = cairn_futex_hash_slots()
        guard current > 0 else { return nil }
        let wanted = slots(for: databases)
        guard current < wanted else { return Int(current) }
        return cairn_set_futex_hash_slots(UInt(wanted)) == 0 ? wanted : Int(current)
    }

    /// About four slots for each thread `databases` keep (a power of two, at least 256).
    static func slots(for databases: Int) -> Int {
        let threads = databases * threadsPerDatabase + 64
        var slots = 256
        while slots < 4 * threads && slots < maxSlots { slots *= 2 }
        return slots
    }
}
