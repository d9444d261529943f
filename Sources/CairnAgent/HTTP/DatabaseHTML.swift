import Foundation

/// The pieces of HTML that show one database: its state, its problems, its key numbers and its
/// card on the overview page.
enum DatabaseHTML {
    /// A coloured label of the database's state.
    static func statePill(_ state: DatabaseSnapshot.State) -> String {
        "<span class=\"pill \(state.rawValue)\">\(state.rawValue)</span>"
    }

    /// The problems in a red box (nothing when there are none).
    static func problems(_ list: [String], cls: String = "") -> String {
        guard !list.isEmpty else { return "" }
        return "<div class=\"problems \(cls)\"><ul>" + list.map { "<li>\(HTML.escape($0))</li>" }.joined() + "</ul></div>"
    }

    /// The database on the overview page: path (a link to its page), state, problems, key
    /// numbers and the recovery-window picture.
    static func card(_ d: DatabaseSnapshot, now: Date) -> String {
        var html = "<section class=\"card\(d.problems.isEmpty ? "" : " unhealthy")\" id=\"db-\(HTML.escape(d.id))\">"
        html += "<div class=\"card-head\"><h3><a href=\"\(HTML.databaseLink(d.id))\">\(HTML.escape(d.path))</a></h3>\(statePill(d.state))"
        html += d.problems.isEmpty ? "<span class=\"pill ok\">healthy</span>" : "<span class=\"pill bad\">\(d.problems.count) problem\(d.problems.count == 1 ? "" : "s")</span>"
        html += "<span class=\"right\">\(d.dbid.map { "DBID \($0)" } ?? "not registered yet")\(d.incarnation.map { " · incarnation \($0)" } ?? "")</span></div>"
        html += problems(d.problems)
        html += facts(keyFacts(d, now: now))
        html += TimelineSVG(timeline: d.timeline, size: .compact, label: d.path).render()
        return html + "</section>"
    }

    /// One fact: a label, a value (already HTML) and how it looks (`""`, `"warn"`, `"bad"`).
    struct Fact {
        var label: String
        var value: String
        var tone = ""
        var hint: String?
    }

    static func facts(_ list: [Fact]) -> String {
        "<dl class=\"facts\">" + list.map { f in
            let title = f.hint.map { " title=\"\(HTML.escape($0))\"" } ?? ""
            return "<div><dt>\(HTML.escape(f.label))</dt><dd class=\"\(f.tone)\"\(title)>\(f.value)</dd></div>"
        }.joined() + "</dl>"
    }

    /// SCNs, capture lag, newest backups, recovery window, remotes and recovery area.
    static func keyFacts(_ d: DatabaseSnapshot, now: Date) -> [Fact] {
        [
            Fact(label: "Captured SCN", value: HTMLFormat.count(d.capturedScn)),
            Fact(label: "Archived SCN", value: HTMLFormat.count(d.archivedScn)),
            captureLag(d),
            lastBackup(d, level: "0", now: now),
            lastBackup(d, level: "1", now: now),
            recoveryWindow(d, now: now),
            remotes(d),
            recoveryArea(d),
        ]
    }

    private static func captureLag(_ d: DatabaseSnapshot) -> Fact {
        guard let seconds = d.captureLagSeconds else { return Fact(label: "Capture lag", value: "—") }
        let bytes = d.captureLagBytes.map { " · " + HTMLFormat.bytes($0) } ?? ""
        return Fact(label: "Capture lag", value: HTMLFormat.duration(seconds) + bytes, tone: seconds > 300 ? "bad" : (seconds > 30 ? "warn" : ""))
    }

    private static func lastBackup(_ d: DatabaseSnapshot, level: String, now: Date) -> Fact {
        let label = "Last level-\(level) backup"
        guard let at = d.lastBackupAt[level] else { return Fact(label: label, value: "none", tone: level == "0" ? "bad" : "") }
        return Fact(label: label, value: HTMLFormat.age(at, now: now), hint: HTMLFormat.utc(at, withSeconds: true))
    }

    private static func recoveryWindow(_ d: DatabaseSnapshot, now: Date) -> Fact {
        guard let start = d.recoveryWindowStart else { return Fact(label: "Recovery window", value: "none", tone: "bad") }
        return Fact(label: "Recovery window", value: HTMLFormat.duration(now.timeIntervalSince(start)), hint: "from " + HTMLFormat.utc(start, withSeconds: true))
    }

    private static func remotes(_ d: DatabaseSnapshot) -> Fact {
        guard !d.remotes.isEmpty else { return Fact(label: "Remotes", value: "none") }
        if let failing = d.remotes.first(where: { $0.lastError != nil }) {
            return Fact(label: "Remotes", value: "\(d.remotes.count) · error", tone: "bad", hint: "\(failing.url): \(failing.lastError ?? "")")
        }
        let worst = d.remotes.map(\.lagSeconds).max() ?? 0
        let behind = worst < 1 ? "in sync" : HTMLFormat.duration(worst) + " behind"
        return Fact(label: "Remotes", value: "\(d.remotes.count) · \(behind)", tone: worst > 3600 ? "warn" : "", hint: d.remotes.map(\.url).joined(separator: ", "))
    }

    private static func recoveryArea(_ d: DatabaseSnapshot) -> Fact {
        let used = HTMLFormat.bytes(d.recoveryAreaBytes)
        guard let limit = d.recoveryAreaLimitBytes, limit > 0 else { return Fact(label: "Recovery area", value: used) }
        let percent = Double(d.recoveryAreaBytes) / Double(limit) * 100
        return Fact(label: "Recovery area", value: "\(used) · \(Int(percent.rounded()))%", tone: percent >= 90 ? "bad" : (percent >= 75 ? "warn" : ""),
                    hint: "\(used) of the \(HTMLFormat.bytes(limit)) limit")
    }
}
