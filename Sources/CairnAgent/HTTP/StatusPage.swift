import Foundation

/// `/`: the agent at a glance — counts, the agent's problems, every database (state, problems,
/// key numbers, recovery-window picture) and the advisor's findings.
enum StatusPage {
    static func render(_ s: AgentSnapshot) -> String {
        var content = tiles(s)
        content += DatabaseHTML.problems(s.problems.map { "Agent: " + $0 }, cls: "agent")
        content += "<h2>Databases<span class=\"sub\">\(s.databases.count) protected, newest state as of \(HTMLFormat.utc(s.takenAt, withSeconds: true))</span></h2>"
        if s.databases.isEmpty {
            content += "<div class=\"box\"><p class=\"empty\">No database is protected: add one under <code>databases:</code> in <code>\(HTML.escape(s.configFile))</code>.</p></div>"
        } else {
            content += "<div class=\"legend\">\(TimelineSVG.legend())</div>"
            content += s.databases.map { DatabaseHTML.card($0, now: s.takenAt) }.joined()
        }
        content += "<h2>Advisor<span class=\"sub\">findings by priority</span></h2>"
        content += AdvisorHTML.findings(s.databases, showDatabase: true)
        return HTMLLayout.page(title: "Cairn agent — \(s.databases.count) database\(s.databases.count == 1 ? "" : "s")", snapshot: s, content: content)
    }

    /// Databases, capturing, unhealthy, findings by priority, remote traffic errors.
    private static func tiles(_ s: AgentSnapshot) -> String {
        let capturing = s.databases.filter { $0.state == .capturing }.count
        let unhealthy = s.databases.filter { !$0.problems.isEmpty }.count
        let counts = AdvisorHTML.counts(s.databases)
        let errors = s.remoteTraffic.reduce(UInt64(0)) { $0 + $1.errors }
        let items: [(String, String, String)] = [
            ("Databases", HTMLFormat.count(s.databases.count), ""),
            ("Capturing", HTMLFormat.count(capturing), capturing == s.databases.count ? "ok" : "warn"),
            ("Unhealthy", HTMLFormat.count(unhealthy), unhealthy == 0 && s.problems.isEmpty ? "ok" : "bad"),
            ("Critical findings", HTMLFormat.count(counts[.critical] ?? 0), (counts[.critical] ?? 0) > 0 ? "bad" : ""),
            ("High findings", HTMLFormat.count(counts[.high] ?? 0), (counts[.high] ?? 0) > 0 ? "warn" : ""),
            ("Remote errors", HTMLFormat.count(errors), errors > 0 ? "warn" : ""),
        ]
        return "<div class=\"tiles\">" + items.map { "<div class=\"tile \($0.2)\"><div class=\"n\">\($0.1)</div><div class=\"l\">\($0.0)</div></div>" }.joined() + "</div>"
    }
}
