import Foundation

/// What every status page has around its content: the head with the inline stylesheet, the
/// header bar naming the agent's configuration, and the footer linking the other endpoints.
enum HTMLLayout {
    static func page(title: String, snapshot: AgentSnapshot?, content: String) -> String {
        var html = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        html += "<title>\(HTML.escape(title))</title><style>\(StatusPageStyle.css)</style></head><body>"
        html += header(snapshot)
        html += "<main>\(content)</main>"
        html += "<footer><a href=\"/metrics\">/metrics</a><a href=\"/healthz\">/healthz</a><a href=\"/api/status\">/api/status</a>Cairn agent</footer>"
        html += "</body></html>\n"
        return html
    }

    /// The 404 page (an unknown database, or an unknown path).
    static func notFound(path: String, snapshot: AgentSnapshot?) -> String {
        let content = "<h2>Not found</h2><div class=\"box\"><p class=\"empty\">Nothing here: <code>\(HTML.escape(path))</code> "
            + "is not a page of this agent (a database that is no longer protected has no page). <a href=\"/\">All databases</a></p></div>"
        return page(title: "Not found — Cairn agent", snapshot: snapshot, content: content)
    }

    private static func header(_ snapshot: AgentSnapshot?) -> String {
        var html = "<header class=\"top\"><div class=\"bar\"><a class=\"brand\" href=\"/\">\(logo)<span>Cairn agent</span></a>"
        if let s = snapshot {
            html += "<div class=\"meta\"><span>config <code>\(HTML.escape(s.configFile))</code></span>"
            html += "<span>up \(HTMLFormat.duration(s.takenAt.timeIntervalSince(s.startedAt)))</span>"
            html += "<span>as of \(HTMLFormat.utc(s.takenAt, withSeconds: true))</span></div>"
        }
        return html + "</div></header>"
    }

    /// Three stacked stones.
    private static let logo = """
        <svg width="26" height="26" viewBox="0 0 26 26" aria-hidden="true"><ellipse cx="13" cy="21" rx="11" ry="4" fill="#8c959f"/>\
        <ellipse cx="13" cy="13.5" rx="8" ry="3.6" fill="#afb8c1"/><ellipse cx="13" cy="7" rx="5" ry="3" fill="#d0d7de"/></svg>
        """
}
