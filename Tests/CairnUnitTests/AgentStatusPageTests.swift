@testable import CairnAgent
import CairnTestSupport
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

/// `/healthz`, `/api/status`, the status pages and the recovery-window picture, rendered in
/// process: codes and bodies, escaping of everything that comes from outside, marks drawn.
@Suite struct AgentStatusPageTests {
    func healthy() -> AgentSnapshot {
        var s = AgentFixtures.realistic()
        s.databases = [s.databases[0]]
        return s
    }

    @Test func healthzIsOkOnlyWithoutProblems() throws {
        let ok = HealthReport(healthy())
        #expect(ok.httpStatus == 200)
        #expect(String(decoding: ok.json(), as: UTF8.self) == #"{"status":"ok","databases":1}"#)

        let bad = HealthReport(AgentFixtures.realistic())
        #expect(bad.httpStatus == 503)
        let body = try JSONSerialization.jsonObject(with: bad.json()) as? [String: Any]
        #expect(body?["status"] as? String == "unhealthy")
        let unhealthy = body?["unhealthy"] as? [[String: Any]] ?? []
        #expect(unhealthy.compactMap { $0["path"] as? String } == ["/srv/tenants/acme.sqlite", "/srv/analytics/events.db"])
        #expect((unhealthy.last?["problems"] as? [String])?.count == 2)

        var agentOnly = healthy()
        agentOnly.problems = ["databases[2]: /srv/gone.db does not exist"]
        let report = HealthReport(agentOnly)
        #expect(report.httpStatus == 503 && report.problems == agentOnly.problems && report.unhealthy == [])
    }

    @Test func apiStatusIsTheSnapshotInJSON() throws {
        let s = AgentFixtures.realistic()
        let data = StatusJSON.encode(s)
        #expect(String(decoding: data, as: UTF8.self).contains(#""takenAt" : "2025-11-29T15:42:10Z""#))
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        #expect(try decoder.decode(AgentSnapshot.self, from: data) == s)
    }

    @Test func pagesEscapeWhatComesFromOutside() {
        var s = AgentFixtures.realistic()
        s.databases[0].path = "/srv/<script>alert(1)</script>.db"
        s.databases[0].id = "x\"><script>"
        s.databases[0].problems = ["<b>bold</b> & co"]
        s.databases[0].findings = [Finding(priority: .high, summary: "<img src=x onerror=alert(1)>")]
        s.databases[0].recentJobs[0].output = "</pre><script>alert('job')</script>"
        s.configFile = "/etc/<cairn>.yml"
        for page in [StatusPage.render(s), DatabasePage.render(s.databases[0], in: s)] {
            #expect(!page.contains("<script"))
            #expect(!page.contains("<img"))
            #expect(!page.contains("<b>"))
            #expect(page.contains("/srv/&lt;script&gt;alert(1)&lt;/script&gt;.db"))
            #expect(page.contains("&lt;cairn&gt;"))
        }
        #expect(StatusPage.render(s).contains("href=\"/db/x%22%3E%3Cscript%3E\""))
        #expect(DatabasePage.render(s.databases[0], in: s).contains("&lt;/pre&gt;&lt;script&gt;alert(&#39;job&#39;)&lt;/script&gt;"))
    }

    @Test func statusPageShowsEveryDatabaseAndTheAdvisor() {
        let page = StatusPage.render(AgentFixtures.realistic())
        for path in ["/srv/shop/orders.db", "/srv/tenants/acme.sqlite", "/srv/analytics/events.db"] {
            #expect(page.contains(path))
        }
        for link in ["/db/orders", "/db/tenants-acme", "/db/analytics-events"] {
            #expect(page.contains("href=\"\(link)\""))
        }
        #expect(page.components(separatedBy: "<svg class=\"timeline\"").count - 1 == 4) // the legend and one per database
        #expect(page.contains("pill critical") && page.contains("pill high") && page.contains("pill low"))
        #expect(page.contains("capture stopped: writing /srv/analytics/events.db.cairn/redo/0000000912.log"))
        #expect(!page.contains("<script") && !page.contains("<link") && !page.contains(" src=")) // nothing to load
    }

    @Test func databasePageHasTheLargerTimelineRemotesAndJobs() {
        let s = AgentFixtures.realistic()
        let page = DatabasePage.render(s.databases[1], in: s)
        #expect(page.contains("s3://acme-eu/tenants") && page.contains("503 Slow Down"))
        #expect(page.contains("<pre>PUT acme-eu/tenants/acme/logs/0000000188.log: 503 Slow Down; attempt 5 in 2 min</pre>"))
        #expect(page.contains("viewBox=\"0 0 1000 182\""))
        #expect(page.contains("/etc/cairn/agent.yml, line 14"))
    }

    @Test func timelineMarksBackupsLogsGapsAndMore() throws {
        let s = AgentFixtures.realistic()
        let orders = TimelineSVG(timeline: s.databases[0].timeline, size: .compact, label: "orders").render()
        let tenant = TimelineSVG(timeline: s.databases[1].timeline, size: .large, label: "tenant").render()
        func count(_ svg: String, _ cls: String) -> Int { svg.components(separatedBy: "class=\"\(cls)\"").count - 1 }
        #expect(count(orders, "backup level-0") == 2)
        #expect(count(orders, "backup level-1") + count(orders, "backup level-1 cumulative") == 12)
        #expect(count(orders, "log archived") == 1 && count(orders, "log online") == 1)
        #expect(count(orders, "restore-point") == 1 && count(orders, "gap") == 0 && count(orders, "now") == 1 && count(orders, "window") == 1)
        #expect(count(tenant, "gap") == 1 && count(tenant, "incarnation") == 2 && count(tenant, "backup level-0") == 2)
        #expect(tenant.contains("Gap at SCN 71204"))
        for svg in [orders, tenant, TimelineSVG(timeline: Timeline(), size: .compact, label: "<empty>").render(), TimelineSVG.legend()] {
            let parser = XMLParser(data: Data(svg.utf8))
            #expect(parser.parse(), "not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "")")
        }
    }

    @Test func aGapKnownByItsSCNOnlyIsPlacedAtTheNextLog() {
        var t = AgentFixtures.realistic().databases[1].timeline
        t.gaps[0].time = nil
        let svg = TimelineSVG(timeline: t, size: .compact, label: "tenant").render()
        #expect(svg.contains("class=\"gap\""))
    }

    @Test func formats() {
        #expect(HTMLFormat.count(1_482_907) == "1,482,907" && HTMLFormat.count(12) == "12")
        #expect(HTMLFormat.bytes(512) == "512 B" && HTMLFormat.bytes(3_651_200_000) == "3.4 GiB" && HTMLFormat.bytes(21_474_836_480) == "20.0 GiB")
        #expect(HTMLFormat.duration(42) == "42 s" && HTMLFormat.duration(0.4) == "0.4 s" && HTMLFormat.duration(7_800) == "2 h 10 min")
        #expect(HTMLFormat.duration(6 * 86400 + 13 * 3600 + 42 * 60) == "6 d 13 h")
        #expect(HTMLFormat.utc(AgentFixtures.now, withSeconds: true) == "2025-11-29 15:42:10 UTC")
        #expect(HTML.pathSegment("a b/é") == "a%20b%2F%C3%A9")
    }
}
