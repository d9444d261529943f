import Foundation

/// Which scheduled jobs are due, and when to wake for the next: each job's next run is the
/// first time its schedule matches after its last run (or after the agent started, for a job
/// that never ran). A run missed while the agent was down is made once when it comes back,
/// not once per missed time; a job is never due twice for the same time.
package struct JobPlanner: Sendable {
    /// A job: the database entry it belongs to and its place in that entry's schedule.
    package struct Key: Hashable, Sendable, CustomStringConvertible {
        package let database: String
        package let index: Int
        package init(database: String, index: Int) {
            self.database = database
            self.index = index
        }
        package var description: String { "\(database) job \(index)" }
    }

    package struct Due: Sendable, Equatable {
        package let key: Key
        package let job: ScheduledJob
        /// The time the schedule gave (the run may start later).
        package let scheduledAt: Date
    }

    private var jobs: [Key: ScheduledJob] = [:]
    private var nextRun: [Key: Date] = [:]
    private let calendar: Calendar

    /// `lastRuns`: when each job last ran (from the agent's records); `now`: the agent's start.
    package init(schedules: [String: [ScheduledJob]], lastRuns: [Key: Date] = [:], now: Date = Date(), calendar: Calendar = .current) {
        self.calendar = calendar
        for (database, list) in schedules {
            for (i, job) in list.enumerated() {
                let key = Key(database: database, index: i)
                jobs[key] = job
                nextRun[key] = job.schedule.next(after: lastRuns[key] ?? now, calendar: calendar)
            }
        }
    }

    /// The jobs due at `now`, in the order of their scheduled times; each moves on to its first
    /// time after `now` (so runs missed meanwhile are made once).
    package mutating func takeDue(at now: Date) -> [Due] {
        var due: [Due] = []
        for (key, at) in nextRun where at <= now {
            guard let job = jobs[key] else { continue }
            due.append(Due(key: key, job: job, scheduledAt: at))
            nextRun[key] = job.schedule.next(after: now, calendar: calendar)
        }
        return due.sorted { ($0.scheduledAt, $0.key.database, $0.key.index) < ($1.scheduledAt, $1.key.database, $1.key.index) }
    }

    /// When the next job is due (nil when none ever is).
    package var nextWake: Date? { nextRun.values.min() }
}
