/// The advisor: what is wrong, by priority (critical, high, low), as `cairn advise` ranks it.
enum AdvisorHTML {
    /// The findings of `databases`, grouped by priority; each names its database unless
    /// `showDatabase` is false (a database's own page).
    static func findings(_ databases: [DatabaseSnapshot], showDatabase: Bool) -> String {
        let all = databases.flatMap { d in d.findings.map { (d, $0) } }
        guard !all.isEmpty else { return "<div class=\"box advisor\"><p class=\"empty\">No findings: nothing needs doing.</p></div>" }
        var html = "<div class=\"box advisor\">"
        for priority in Finding.Priority.allCases {
            let group = all.filter { $0.1.priority == priority }
            guard !group.isEmpty else { continue }
            html += "<div class=\"group\"><span class=\"pill \(priority.rawValue)\">\(priority.rawValue) · \(group.count)</span><ul>"
            for (d, finding) in group {
                let place = showDatabase ? "<a class=\"db\" href=\"\(HTML.databaseLink(d.id))\">\(HTML.escape(d.path))</a>" : ""
                html += "<li>\(place)<span>\(HTML.escape(finding.summary))</span></li>"
            }
            html += "</ul></div>"
        }
        return html + "</div>"
    }

    /// How many findings of each priority `databases` have.
    static func counts(_ databases: [DatabaseSnapshot]) -> [Finding.Priority: Int] {
        var counts: [Finding.Priority: Int] = [:]
        for d in databases {
            for f in d.findings { counts[f.priority, default: 0] += 1 }
        }
        return counts
    }
}
