import CairnAgent
import Foundation
import Testing

/// The agent's configuration file: the documented shape parses, every mistake is an error that
/// names its line, unknown keys are refused, `${ENV}` is expanded, and schedules compute the
/// next run the way cron does.
@Suite struct AgentConfigurationTests {
    static let sample = """
    http:
      listen: 127.0.0.1:9187
    log: {format: json, level: info}
    databases:
      - path: /srv/app/app.db          # one database
        repository: /srv/app/app.db.cairn
        remotes: [s3://bucket/prefix]
        encryption_key_file: ${KEY_DIR}/master.key
        log_size: 16M
        retention: {redundancy: 2}
        schedule:
          - {job: backup, level: 0, cron: "0 2 * * 0"}
          - {job: backup, level: 1, cron: "0 2 * * 1-6"}
          - {job: delete-obsolete, at: "daily at 03:30"}
      - dir: /srv/tenants
        pattern: "*.sqlite"
    """

    func error(_ text: String, environment: [String: String] = [:]) -> ConfigurationError? {
        do {
            _ = try AgentConfiguration.parse(text, file: "cairn.yml", environment: environment)
            return nil
        } catch {
            return error
        }
    }

    @Test func theDocumentedShapeParses() throws {
        let c = try AgentConfiguration.parse(Self.sample, file: "cairn.yml", environment: ["KEY_DIR": "/etc/cairn"])
        #expect(c.http.host == "127.0.0.1" && c.http.port == 9187 && c.logFormat == .json)
        #expect(c.databases.count == 2)
        let app = c.databases[0]
        #expect(app.path == "/srv/app/app.db" && app.repository == "/srv/app/app.db.cairn" && app.remotes == ["s3://bucket/prefix"])
        #expect(app.encryptionKeyFile == "/etc/cairn/master.key" && app.logSizeBytes == 16 << 20 && app.redundancy == 2)
        #expect(app.schedule.map(\.kind) == [.backup, .backup, .deleteObsolete] && app.schedule.map(\.level) == [0, 1, 0])
        #expect(app.line == 5 && app.schedule[1].line == 13)
        #expect(c.databases[1].directory == "/srv/tenants" && c.databases[1].pattern == "*.sqlite")
    }

    @Test func everyMistakeNamesItsLine() {
        let cases: [(String, Int, String)] = [
            ("databases:\n  - path: /a.db\n    retension: {redundancy: 1}\n", 3, "unknown setting 'retension'"),
            ("databases:\n  - path: /a.db\n    schedule:\n      - {job: backup, cron: \"0 25 * * *\"}\n", 4, "'25' is not a valid hour"),
            ("databases:\n  - path: /a.db\n    schedule:\n      - {job: vacuum, at: hourly}\n", 4, "'vacuum' is not a job"),
            ("databases:\n  - repository: /r\n", 2, "give `path:`"),
            ("databases:\n  - path: /a.db\n  - path: /a.db\n", 3, "again"),
            ("databases:\n  - path: ${MISSING}/a.db\n", 2, "MISSING is not set"),
            ("http:\n  listen: 0.0.0.0:9187\ndatabases: []\n", 2, "needs `token:`"),
            ("databases:\n  - path: /a.db\n    log_size: lots\n", 3, "not a size"),
            ("databases:\n  - path: /a.db\n   bad indent: [\n", 3, "not valid YAML"),
            ("http: {listen: 127.0.0.1:9187}\n", 1, "no `databases:`"),
        ]
        for (text, line, message) in cases {
            let e = error(text)
            #expect(e?.line == line && e?.description.contains(message) == true, "\(text) → \(String(describing: e))")
            #expect(e?.description.hasPrefix("cairn.yml:\(line):") == true, "\(String(describing: e))")
        }
    }

    @Test func checkNamesEveryEntrysMistake() {
        let text = "databases:\n  - path: /a.db\n    retension: {redundancy: 1}\n  - path: /b.db\n    schedule:\n      - {job: backup, cron: \"0 25 * * *\"}\n  - path: /c.db\n"
        let errors = AgentConfiguration.check(text, file: "cairn.yml")
        #expect(errors.map(\.line) == [3, 6], "\(errors)")
        #expect(AgentConfiguration.check(Self.sample, file: "cairn.yml", environment: ["KEY_DIR": "/k"]).isEmpty)
    }

    @Test func aTokenFromTheEnvironmentAllowsAnotherAddress() throws {
        let c = try AgentConfiguration.parse("http:\n  listen: 0.0.0.0:9000\n  token: ${T}\ndatabases: []\n", file: "f", environment: ["T": "s3cret"])
        #expect(c.http.host == "0.0.0.0" && c.http.port == 9000 && c.http.token == "s3cret" && !c.http.isLoopback)
    }

    @Test func schedulesComputeTheNextRunAsCronDoes() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        func date(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }
        func next(_ s: String, after: String) throws -> Date? { try Schedule(parsing: s).next(after: date(after), calendar: calendar) }
        // 2026-11-29 is a Sunday.
        #expect(try next("0 2 * * 1-6", after: "2026-11-29T01:00:00Z") == date("2026-11-30T02:00:00Z"))
        #expect(try next("0 2 * * 0", after: "2026-11-29T01:00:00Z") == date("2026-11-29T02:00:00Z"))
        #expect(try next("0 2 * * 7", after: "2026-11-29T02:00:00Z") == date("2026-12-06T02:00:00Z"))
        #expect(try next("*/15 * * * *", after: "2026-11-29T10:07:30Z") == date("2026-11-29T10:15:00Z"))
        #expect(try next("daily at 03:30", after: "2026-11-29T03:30:00Z") == date("2026-11-30T03:30:00Z"))
        #expect(try next("weekly on wednesday at 23:59", after: "2026-11-29T00:00:00Z") == date("2026-12-02T23:59:00Z"))
        #expect(try next("hourly", after: "2026-11-29T10:00:00Z") == date("2026-11-29T11:00:00Z"))
        // Day of month and day of week both given: either one (cron's rule).
        #expect(try next("0 0 1 * 1", after: "2026-11-29T00:00:00Z") == date("2026-11-30T00:00:00Z"))
        for bad in ["0 2 * *", "61 * * * *", "* * * 13 *", "*/0 * * * *", "daily at 25:00", "weekly on funday at 01:00", "5-2 * * * *"] {
            #expect(throws: ScheduleError.self, "\(bad)") { try Schedule(parsing: bad) }
        }
    }

    @Test func thePlannerMakesAMissedRunOnceAndNeverTwice() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        func date(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }
        let nightly = ScheduledJobFixture.job("0 2 * * *"), hourly = ScheduledJobFixture.job("hourly")
        let a = JobPlanner.Key(database: "/a.db", index: 0), b = JobPlanner.Key(database: "/b.db", index: 0)
        // /a.db's nightly job last ran three nights ago; the agent starts at 10:30.
        var p = JobPlanner(schedules: ["/a.db": [nightly], "/b.db": [hourly]], lastRuns: [a: date("2026-11-26T02:00:00Z")],
                           now: date("2026-11-29T10:30:00Z"), calendar: calendar)
        let first = p.takeDue(at: date("2026-11-29T10:30:00Z"))
        #expect(first.map(\.key) == [a] && first.first?.scheduledAt == date("2026-11-27T02:00:00Z"), "\(first)")
        #expect(p.takeDue(at: date("2026-11-29T10:30:00Z")).isEmpty)
        #expect(p.nextWake == date("2026-11-29T11:00:00Z"))
        #expect(p.takeDue(at: date("2026-11-29T11:00:00Z")).map(\.key) == [b])
        // Asleep until past both: each is due once.
        let late = p.takeDue(at: date("2026-11-30T05:00:00Z"))
        #expect(Set(late.map(\.key)) == [a, b] && late.count == 2, "\(late)")
        #expect(p.nextWake == date("2026-11-30T06:00:00Z"))
    }
}

/// Scheduled jobs for the planner's tests, made through the parser as the agent makes them.
enum ScheduledJobFixture {
    static func job(_ schedule: String) -> ScheduledJob {
        let c = try! AgentConfiguration.parse("databases:\n  - path: /x.db\n    schedule:\n      - {job: crosscheck, at: \"\(schedule)\"}\n", file: "f")
        return c.databases[0].schedule[0]
    }
}
