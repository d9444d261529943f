import Foundation
import Synchronization

/// The seam through which tests make storage fail. Every open, read, write and fsync of a
/// `RawFile` (and every durable rename) asks the injector first; a matching rule can fail
/// the call with an errno, shorten a write, or slow it down, for a number of calls, after
/// which the fault clears by itself.
///
/// Rules come from `FaultInjector.add` (in-process tests) or from the environment variable
/// `CAIRN_FAULTS` (whole-process tests), a `;`-separated list of
/// `op:path-substring:effect[:after=N][:times=N]` with op one of open, read, write, sync,
/// rename, any; effect one of an errno name (EIO, ENOSPC, EACCES, EROFS), `short`
/// (a write transfers half its bytes) or `delay=MS`.
///
/// Compiled in only where tests need it: debug builds define `CAIRN_FAULT_INJECTION`
/// (Package.swift); in a release build no rule can be set and every check is `nil`.
package final class FaultInjector: Sendable {
    package enum Operation: String, Sendable { case open, read, write, sync, rename, any }
    package enum Effect: Sendable, Equatable { case fail(Int32), shortWrite, delay(milliseconds: Int) }

    package struct Rule: Sendable {
        package var operation: Operation
        package var pathContains: String
        package var effect: Effect
        /// Matching calls to let through first.
        package var after: Int
        /// How many calls fail (then the rule clears); nil: until removed.
        package var times: Int?

        package init(_ operation: Operation, pathContains: String, effect: Effect, after: Int = 0, times: Int? = nil) {
            self.operation = operation
            self.pathContains = pathContains
            self.effect = effect
            self.after = after
            self.times = times
        }
    }

    package static let shared = FaultInjector()
    private let rules = Mutex<[Rule]>([])
    /// Whether any rule is set: read on every I/O call without taking the lock, so atomic.
    private let active = Atomic<Bool>(false)

    private init() {
        #if CAIRN_FAULT_INJECTION
        if let spec = ProcessInfo.processInfo.environment["CAIRN_FAULTS"] {
            let parsed = spec.split(separator: ";").compactMap { Self.parse(String($0)) }
            rules.withLock { $0 = parsed }
            active.store(!parsed.isEmpty, ordering: .releasing)
        }
        #endif
    }

    static func parse(_ s: String) -> Rule? {
        let parts = s.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 3, let op = Operation(rawValue: parts[0]) else { return nil }
        let effect: Effect
        switch parts[2] {
        case "short": effect = .shortWrite
        case let e where e.hasPrefix("delay="): effect = .delay(milliseconds: Int(e.dropFirst(6)) ?? 0)
        case "EIO": effect = .fail(EIO)
        case "ENOSPC": effect = .fail(ENOSPC)
        case "EACCES": effect = .fail(EACCES)
        case "EROFS": effect = .fail(EROFS)
        default: return nil
        }
        var rule = Rule(op, pathContains: parts[1], effect: effect)
        for extra in parts.dropFirst(3) {
            if extra.hasPrefix("after="), let n = Int(extra.dropFirst(6)) { rule.after = n }
            if extra.hasPrefix("times="), let n = Int(extra.dropFirst(6)) { rule.times = n }
        }
        return rule
    }

    /// Adds a rule; returns a token for `remove`.
    @discardableResult
    package func add(_ rule: Rule) -> Int {
        #if CAIRN_FAULT_INJECTION
        rules.withLock { rules in
            rules.append(rule)
            active.store(true, ordering: .releasing)
            return rules.count - 1
        }
        #else
        preconditionFailure("fault injection is compiled into debug builds only")
        #endif
    }

    package func removeAll(pathContains: String) {
        rules.withLock { rules in
            rules.removeAll { $0.pathContains == pathContains }
            active.store(!rules.isEmpty, ordering: .releasing)
        }
    }

    /// The effect to apply to this call, if a rule matches (consuming one of its turns).
    func check(_ op: Operation, _ path: String) -> Effect? {
        #if !CAIRN_FAULT_INJECTION
        return nil
        #else
        guard active.load(ordering: .acquiring) else { return nil }
        return rules.withLock { rules -> Effect? in
            for i in rules.indices {
                let r = rules[i]
                guard r.operation == op || r.operation == .any, path.contains(r.pathContains) else { continue }
                if rules[i].after > 0 { rules[i].after -= 1; continue }
                if let t = r.times {
                    if t <= 0 { continue }
                    rules[i].times = t - 1
                }
                return r.effect
            }
            return nil
        }
        #endif
    }

    /// Applies a matching rule: sleeps for a delay, or returns the errno to fail with.
    package static func errno(_ op: Operation, _ path: String) -> Int32? {
        switch shared.check(op, path) {
        case .fail(let e)?: return e
        case .delay(let ms)?: usleep(UInt32(ms) * 1000); return nil
        default: return nil
        }
    }
}
