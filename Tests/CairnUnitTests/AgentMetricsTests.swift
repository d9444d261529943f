@testable import CairnAgent
import CairnTestSupport
import Foundation
import Testing

/// `/metrics`: the exposition text parses line by line, names and labels follow the Prometheus
/// conventions, label values are escaped, counters never go down, series of databases gone
/// disappear, and 500 databases render quickly.
@Suite struct AgentMetricsTests {
    static let families: [(String, String)] = [
        ("cairn_captured_scn", "gauge"), ("cairn_archived_scn", "gauge"), ("cairn_capture_lag_seconds", "gauge"), ("cairn_capture_lag_bytes", "gauge"),
        ("cairn_last_backup_age_seconds", "gauge"), ("cairn_recovery_window_start_timestamp_seconds", "gauge"), ("cairn_remote_lag_seconds", "gauge"),
        ("cairn_remote_lag_bytes", "gauge"), ("cairn_recovery_area_bytes", "gauge"), ("cairn_recovery_area_limit_bytes", "gauge"),
        ("cairn_job_runs_total", "counter"), ("cairn_job_failures_total", "counter"), ("cairn_failures_open", "gauge"), ("cairn_database_up", "gauge"),
        ("cairn_database_healthy", "gauge"), ("cairn_remote_requests_total", "counter"), ("cairn_remote_sent_bytes_total", "counter"),
        ("cairn_remote_received_bytes_total", "counter"), ("cairn_remote_errors_total", "counter"), ("cairn_agent_start_time_seconds", "gauge"),
        ("cairn_agent_databases", "gauge"),
    ]

    @Test func everyLineParsesAndEveryFamilyIsThere() throws {
        let parsed = try PrometheusText.parse(MetricsExporter().render(AgentFixtures.realistic()))
        for (name, type) in Self.families {
            #expect(parsed.types[name] == type, "\(name)")
            #expect(parsed.help[name]?.isEmpty == false, "\(name) has no HELP")
        }
        for (name, type) in parsed.types {
            #expect(name.hasPrefix("cairn_"))
            #expect(name.hasSuffix("_total") == (type == "counter"), "\(name) is a \(type)")
        }
    }

    @Test func valuesAndLabelsComeFromTheSnapshot() throws {
        let s = AgentFixtures.realistic()
        let p = try PrometheusText.parse(MetricsExporter().render(s))
        let orders: [String: String] = ["database": "/srv/shop/orders.db"]
        func ordersWith(_ name: String, _ value: String) -> [String: String] { ["database": "/srv/shop/orders.db", name: value] }
        let age: Double = 6 * 86400 + 13 * 3600 + 42 * 60
        #expect(p.value("cairn_captured_scn", ordersWith("dbid", "7311842231")) == 1_482_907)
        #expect(p.value("cairn_last_backup_age_seconds", ordersWith("level", "0")) == age)
        #expect(p.value("cairn_last_backup_age_seconds", ["database": "/srv/analytics/events.db", "level": "1"]) == nil)
        #expect(p.value("cairn_remote_lag_seconds", ["database": "/srv/tenants/acme.sqlite", "remote": "s3://acme-eu/tenants"]) == 7_800)
        #expect(p.value("cairn_job_runs_total", ordersWith("job", "archivelog")) == 4_412)
        #expect(p.value("cairn_job_failures_total", ordersWith("job", "backup-level1")) == 0)
        #expect(p.value("cairn_failures_open", ["database": "/srv/analytics/events.db", "priority": "critical"]) == 1)
        #expect(p.value("cairn_failures_open", ["database": "/srv/analytics/events.db", "priority": "low"]) == 0)
        #expect(p.value("cairn_database_up", ["database": "/srv/analytics/events.db"]) == 0)
        #expect(p.value("cairn_database_healthy", orders) == 1)
        #expect(p.value("cairn_remote_requests_total", ["remote": "s3://acme-backups/shop", "kind": "put"]) == 18_412)
        #expect(p.value("cairn_agent_databases") == 3)
        #expect(p.value("cairn_agent_start_time_seconds") == s.startedAt.timeIntervalSince1970)
        #expect(p.value("cairn_recovery_window_start_timestamp_seconds", orders) == s.databases[0].recoveryWindowStart?.timeIntervalSince1970)
    }

    @Test func labelValuesAreEscaped() throws {
        var s = AgentFixtures.realistic()
        let path = "/srv/odd \"quoted\" \\ back\nslash.db"
        s.databases[0].path = path
        let p = try PrometheusText.parse(MetricsExporter().render(s))
        #expect(p.value("cairn_database_up", ["database": path]) == 1)
    }

    @Test func countersNeverGoDownAndGoneSeriesDisappear() throws {
        let exporter = MetricsExporter()
        var s = AgentFixtures.realistic()
        let first = try PrometheusText.parse(exporter.render(s))
        s.databases[0].jobRuns["archivelog"] = 4_415
        s.remoteTraffic[0].requests["put"] = 5 // the count started again (the agent's remote client was replaced)
        s.databases.removeLast()
        let second = try PrometheusText.parse(exporter.render(s))
        #expect(second.value("cairn_job_runs_total", ["database": "/srv/shop/orders.db", "job": "archivelog"]) == 4_415)
        #expect(second.value("cairn_remote_requests_total", ["remote": "s3://acme-backups/shop", "kind": "put"]) == 18_417)
        for sample in first.samples where first.types[sample.name] == "counter" && !sample.labels.values.contains("/srv/analytics/events.db") {
            let after = second.samples.first { $0.name == sample.name && $0.labels == sample.labels }
            #expect((after?.value ?? -1) >= sample.value, "\(sample.name) \(sample.labels)")
        }
        #expect(second.samples.allSatisfy { !$0.labels.values.contains("/srv/analytics/events.db") })
        #expect(second.value("cairn_agent_databases") == 2)
    }

    @Test func fiveHundredDatabases() throws {
        let exporter = MetricsExporter()
        let snapshot = AgentFixtures.many(500)
        let clock = ContinuousClock()
        var text = ""
        let firstScrape = clock.measure { text = exporter.render(snapshot) }
        let nextScrape = clock.measure { text = exporter.render(snapshot) }
        print("/metrics for 500 databases: first scrape \(firstScrape), next scrape \(nextScrape), \(text.utf8.count) bytes")
        let p = try PrometheusText.parse(text)
        #expect(p.samples("cairn_database_up").count == 500)
        #expect(p.samples("cairn_job_runs_total").count == 2_000)
        #expect(p.samples("cairn_remote_requests_total").count == 1_000)
    }
}
