import Foundation

/// `/db/<id>`: one database in full — its numbers, the larger recovery-window picture, its
/// remotes, its findings and its recent jobs with what they reported.
enum DatabasePage {
    static func render(_ d: DatabaseSnapshot, in s: AgentSnapshot) -> String {
        var content = "<div class=\"crumbs\"><a href=\"/\">← All databases</a></div>"
        content += "<section class=\"card\(d.problems.isEmpty ? "" : " unhealthy")\"><div class=\"card-head\"><h3>\(HTML.escape(d.path))</h3>"
        content += DatabaseHTML.statePill(d.state)
        content += d.problems.isEmpty ? "<span class=\"pill ok\">healthy</span>" : "<span class=\"pill bad\">unhealthy</span>"
        content += "<span class=\"right\">\(HTML.escape(s.configFile)), line \(d.entryLine)</span></div>"
        content += DatabaseHTML.problems(d.problems)
        content += DatabaseHTML.facts(identity(d) + DatabaseHTML.keyFacts(d, now: s.takenAt))
        content += "</section>"
        content += "<h2>Recovery window<span class=\"sub\">\(HTML.escape(windowSummary(d.timeline)))</span></h2>"
        content += "<div class=\"card\">\(TimelineSVG(timeline: d.timeline, size: .large, label: d.path).render())</div>"
        content += "<h2>Remotes</h2>" + remotes(d)
        content += "<h2>Advisor<span class=\"sub\">findings by priority</span></h2>" + AdvisorHTML.findings([d], showDatabase: false)
        content += "<h2>Jobs<span class=\"sub\">since the agent started; the newest first</span></h2>" + jobCounts(d) + "<div class=\"spacer\"></div>" + jobs(d, now: s.takenAt)
        return HTMLLayout.page(title: "\(d.path) — Cairn agent", snapshot: s, content: content)
    }

    private static func identity(_ d: DatabaseSnapshot) -> [DatabaseHTML.Fact] {
        [
            DatabaseHTML.Fact(label: "DBID", value: d.dbid.map { String($0) } ?? "not registered yet"),
            DatabaseHTML.Fact(label: "Incarnation", value: d.incarnation.map { String($0) } ?? "—"),
            DatabaseHTML.Fact(label: "Repository", value: d.repository.map { "<code>\(HTML.escape($0))</code>" } ?? "—"),
            DatabaseHTML.Fact(label: "Recoverable SCN", value: d.recoverableScn.map { HTMLFormat.count($0) } ?? "—"),
        ]
    }

    /// `2 level-0 and 6 level-1 backups, 14 logs archived, 1 gap`.
    static func windowSummary(_ t: Timeline) -> String {
        let l0 = t.backups.filter { $0.level == 0 }.count, l1 = t.backups.count - l0
        let archived = t.logSpans.filter(\.archived).reduce(0) { $0 + $1.logs }
        let online = t.logSpans.filter { !$0.archived }.reduce(0) { $0 + $1.logs }
        var parts = ["\(l0) level-0 and \(l1) level-1 backup\(l1 == 1 ? "" : "s")", "\(archived) log\(archived == 1 ? "" : "s") archived, \(online) online"]
        if !t.gaps.isEmpty { parts.append("\(t.gaps.count) gap\(t.gaps.count == 1 ? "" : "s")") }
        if !t.restorePoints.isEmpty { parts.append("\(t.restorePoints.count) restore point\(t.restorePoints.count == 1 ? "" : "s")") }
        return parts.joined(separator: ", ")
    }

    private static func remotes(_ d: DatabaseSnapshot) -> String {
        guard !d.remotes.isEmpty else { return "<div class=\"box\"><p class=\"empty\">No remote repository: the backups and logs are kept on this machine only.</p></div>" }
        var html = "<div class=\"box\"><table><tr><th>Remote</th><th>Mode</th><th class=\"num\">Logs behind</th><th class=\"num\">Backups behind</th>"
        html += "<th class=\"num\">Bytes behind</th><th class=\"num\">Lag</th><th>Last error</th></tr>"
        for r in d.remotes {
            html += "<tr><td><code>\(HTML.escape(r.url))</code></td><td>\(HTML.escape(r.mode))</td><td class=\"num\">\(HTMLFormat.count(r.logsBehind))</td>"
            html += "<td class=\"num\">\(HTMLFormat.count(r.backupsBehind))</td><td class=\"num\">\(HTMLFormat.bytes(r.bytesBehind))</td>"
            html += "<td class=\"num\">\(HTMLFormat.duration(r.lagSeconds))</td><td>\(r.lastError.map { "<span class=\"pill bad\">error</span> " + HTML.escape($0) } ?? "—")</td></tr>"
        }
        return html + "</table></div>"
    }

    private static func jobCounts(_ d: DatabaseSnapshot) -> String {
        let kinds = Set(d.jobRuns.keys).union(d.jobFailures.keys).sorted()
        guard !kinds.isEmpty else { return "<div class=\"box\"><p class=\"empty\">No job has run yet.</p></div>" }
        var html = "<div class=\"box\"><table><tr><th>Job</th><th class=\"num\">Runs</th><th class=\"num\">Failures</th></tr>"
        for kind in kinds {
            let failures = d.jobFailures[kind] ?? 0
            html += "<tr><td>\(HTML.escape(kind))</td><td class=\"num\">\(HTMLFormat.count(d.jobRuns[kind] ?? 0))</td>"
            html += "<td class=\"num\">\(failures > 0 ? "<span class=\"pill failed\">\(HTMLFormat.count(failures))</span>" : "0")</td></tr>"
        }
        return html + "</table></div>"
    }

    private static func jobs(_ d: DatabaseSnapshot, now: Date) -> String {
        guard !d.recentJobs.isEmpty else { return "" }
        return "<div class=\"box\">" + d.recentJobs.map { job($0, now: now) }.joined() + "</div>"
    }

    private static func job(_ j: JobRecord, now: Date) -> String {
        var html = "<div class=\"job\"><div class=\"line\"><strong>\(HTML.escape(j.kind))</strong> <span class=\"pill \(j.outcome.rawValue)\">\(j.outcome.rawValue)</span>"
        html += "<span class=\"when\" title=\"\(HTMLFormat.utc(j.startedAt, withSeconds: true))\">#\(j.id) · started \(HTMLFormat.age(j.startedAt, now: now))"
        if let end = j.endedAt { html += " · took \(HTMLFormat.duration(end.timeIntervalSince(j.startedAt)))" }
        if j.attempt > 1 { html += " · attempt \(j.attempt)" }
        if let scheduled = j.scheduledAt { html += " · scheduled for \(HTMLFormat.utc(scheduled))" }
        html += "</span></div>"
        if !j.output.isEmpty { html += "<pre>\(HTML.escape(j.output))</pre>" }
        return html + "</div>"
    }
}
