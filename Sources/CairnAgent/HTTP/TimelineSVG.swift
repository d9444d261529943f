import Foundation

/// A database's recovery window drawn as inline SVG: time runs left to right up to "now";
/// level-0 backups are diamonds and level-1 backups circles (rings when cumulative) above a
/// lane of logs (archived: teal, still online: amber); gaps are red bars, restore points
/// orange flags, the start of each incarnation a dashed purple line, and the part of the lane a
/// restore can reach is shaded blue. Every mark has a `<title>` (its tooltip).
struct TimelineSVG {
    enum Size { case compact, large }

    let timeline: Timeline
    let size: Size
    /// What the picture shows (its accessible name), e.g. the database's path.
    let label: String

    // MARK: Geometry (in the 1000-wide viewBox)

    private struct Layout {
        var height: Double, left: Double, right: Double
        var markTop: Double, backupY: Double, laneTop: Double, laneHeight: Double, axisY: Double
        var font: Double, maxTicks: Int
        var laneBottom: Double { laneTop + laneHeight }
    }

    private var layout: Layout {
        switch size {
        case .compact:
            return Layout(height: 68, left: 6, right: 962, markTop: 4, backupY: 16, laneTop: 28, laneHeight: 12, axisY: 48, font: 11, maxTicks: 8)
        case .large:
            return Layout(height: 182, left: 74, right: 956, markTop: 14, backupY: 38, laneTop: 62, laneHeight: 22, axisY: 100, font: 12, maxTicks: 8)
        }
    }

    static let colors = (
        level0: "#0550ae", level1: "#218bff", archived: "#1b998b", online: "#e3a008", gap: "#cf222e",
        restorePoint: "#bc4c00", incarnation: "#8250df", window: "#ddf4ff", lane: "#eaeef2", axis: "#8c959f", now: "#24292f"
    )

    // MARK: Time scale

    /// The newest instant drawn: the timeline's `now`, or its newest event when `now` is unset.
    private var now: Date {
        if timeline.now.timeIntervalSince1970 > 0 { return timeline.now }
        return allTimes.max() ?? Date(timeIntervalSince1970: 0)
    }

    private var allTimes: [Date] {
        timeline.backups.map(\.time) + timeline.logSpans.flatMap { [$0.start, $0.end] } + timeline.gaps.compactMap(\.time)
            + timeline.restorePoints.map(\.time) + timeline.incarnations.map(\.time) + [timeline.windowStart].compactMap { $0 }
    }

    /// The span drawn: from a little before the oldest event (at least ten minutes) to now.
    private var range: (start: Date, end: Date) {
        let end = now
        var start = allTimes.filter { $0 <= end }.min() ?? end.addingTimeInterval(-86400)
        if end.timeIntervalSince(start) < 600 { start = end.addingTimeInterval(-600) }
        return (start.addingTimeInterval(-end.timeIntervalSince(start) * 0.02), end)
    }

    private func x(_ date: Date, _ l: Layout, _ r: (start: Date, end: Date)) -> Double {
        let f = date.timeIntervalSince(r.start) / max(1, r.end.timeIntervalSince(r.start))
        return l.left + min(1, max(0, f)) * (l.right - l.left)
    }

    // MARK: Drawing

    /// The `<svg>` element.
    func render() -> String {
        let l = layout, r = range
        var s = SVGText()
        s.open(width: 1000, height: l.height, label: "Recovery window of " + label, font: l.font)
        drawLane(&s, l, r)
        drawSpans(&s, l, r)
        drawIncarnations(&s, l, r)
        drawGaps(&s, l, r)
        drawRestorePoints(&s, l, r)
        drawBackups(&s, l, r)
        drawNow(&s, l, r)
        drawAxis(&s, l, r)
        if size == .large {
            s.text(l.left - 10, l.backupY + 4, "backups", fill: "#57606a", anchor: "end")
            s.text(l.left - 10, l.laneTop + l.laneHeight / 2 + 4, "logs", fill: "#57606a", anchor: "end")
            Self.drawLegend(&s, y: l.height - 26)
        }
        s.close()
        return s.text
    }

    private func drawLane(_ s: inout SVGText, _ l: Layout, _ r: (start: Date, end: Date)) {
        if let start = timeline.windowStart {
            let x0 = x(start, l, r)
            s.rect(x0, l.markTop, x(now, l, r) - x0, l.laneBottom - l.markTop + 4, fill: Self.colors.window, cls: "window",
                   title: "Recovery window: from \(HTMLFormat.utc(start, withSeconds: true)) to now")
        }
        s.rect(l.left, l.laneTop, l.right - l.left, l.laneHeight, fill: Self.colors.lane, cls: "lane", title: nil)
        if timeline.backups.isEmpty && timeline.logSpans.isEmpty {
            s.text((l.left + l.right) / 2, l.laneTop + l.laneHeight / 2 + l.font * 0.35, "no backup yet: nothing to restore", fill: "#57606a", anchor: "middle")
        }
    }

    private func drawSpans(_ s: inout SVGText, _ l: Layout, _ r: (start: Date, end: Date)) {
        for span in timeline.logSpans {
            let x0 = x(span.start, l, r), x1 = x(span.end, l, r)
            let kind = span.archived ? "archived" : "online"
            let title = "\(span.logs) \(kind) log\(span.logs == 1 ? "" : "s"): SCN \(span.firstScn)–\(span.lastScn), "
                + "\(HTMLFormat.utc(span.start, withSeconds: true)) – \(HTMLFormat.utc(span.end, withSeconds: true))"
            s.rect(x0, l.laneTop, max(3, x1 - x0), l.laneHeight, fill: span.archived ? Self.colors.archived : Self.colors.online, cls: "log \(kind)", title: title)
        }
    }

    private func drawIncarnations(_ s: inout SVGText, _ l: Layout, _ r: (start: Date, end: Date)) {
        for mark in timeline.incarnations {
            let px = x(mark.time, l, r)
            s.group(cls: "incarnation", title: "\(mark.name) began at SCN \(mark.scn), \(HTMLFormat.utc(mark.time, withSeconds: true))") { s in
                s.line(px, l.markTop, px, l.laneBottom + 4, stroke: Self.colors.incarnation, width: 1.5, dash: "4 3")
                s.text(px + 4, l.markTop + l.font * 0.8, mark.name.replacingOccurrences(of: "incarnation ", with: "inc "), fill: Self.colors.incarnation, anchor: "start")
            }
        }
    }

    private func drawGaps(_ s: inout SVGText, _ l: Layout, _ r: (start: Date, end: Date)) {
        for gap in timeline.gaps {
            guard let time = gap.time ?? estimatedTime(ofScn: gap.scn) else { continue }
            let px = x(time, l, r)
            s.group(cls: "gap", title: "Gap at SCN \(gap.scn): \(gap.detail) — a restore cannot cross it") { s in
                s.rect(px - 2, l.markTop, 4, l.laneBottom - l.markTop + 4, fill: Self.colors.gap, cls: nil, title: nil)
                s.polygon([(px - 6, l.markTop - 4), (px + 6, l.markTop - 4), (px, l.markTop + 4)], fill: Self.colors.gap)
            }
        }
    }

    /// Where a gap known by its SCN only falls: at the start of the first log after it.
    private func estimatedTime(ofScn scn: UInt64) -> Date? {
        let spans = timeline.logSpans.sorted { $0.firstScn < $1.firstScn }
        return spans.first { $0.firstScn >= scn }?.start ?? spans.last { $0.lastScn < scn }?.end
    }

    private func drawRestorePoints(_ s: inout SVGText, _ l: Layout, _ r: (start: Date, end: Date)) {
        for mark in timeline.restorePoints {
            let px = x(mark.time, l, r), top = l.markTop
            s.group(cls: "restore-point", title: "Restore point \(mark.name): SCN \(mark.scn), \(HTMLFormat.utc(mark.time, withSeconds: true))") { s in
                s.line(px, top, px, l.laneBottom, stroke: Self.colors.restorePoint, width: 1.5, dash: nil)
                s.polygon([(px, top), (px + 9, top + 4), (px, top + 8)], fill: Self.colors.restorePoint)
            }
        }
    }

    private func drawBackups(_ s: inout SVGText, _ l: Layout, _ r: (start: Date, end: Date)) {
        let radius = size == .large ? 7.0 : 5.5
        for b in timeline.backups.sorted(by: { $0.level > $1.level }) {
            let px = x(b.time, l, r), y = l.backupY
            let kind = b.level == 0 ? "level-0" : (b.cumulative ? "level-1 cumulative" : "level-1")
            let what = b.level == 0 ? "Level-0 backup" : (b.cumulative ? "Cumulative level-1 backup" : "Level-1 backup")
            s.group(cls: "backup \(kind)", title: "\(what) #\(b.id): SCN \(b.scn), \(HTMLFormat.utc(b.time, withSeconds: true))") { s in
                s.line(px, y, px, l.laneTop, stroke: b.level == 0 ? Self.colors.level0 : Self.colors.level1, width: 1, dash: "2 2")
                if b.level == 0 {
                    let d = radius * 1.25
                    s.polygon([(px, y - d), (px + d, y), (px, y + d), (px - d, y)], fill: Self.colors.level0, stroke: "#ffffff")
                } else {
                    s.circle(px, y, radius * 0.8, fill: b.cumulative ? "#ffffff" : Self.colors.level1, stroke: b.cumulative ? Self.colors.level1 : "#ffffff", width: b.cumulative ? 2.5 : 1)
                }
            }
        }
    }

    private func drawNow(_ s: inout SVGText, _ l: Layout, _ r: (start: Date, end: Date)) {
        let px = x(now, l, r)
        s.group(cls: "now", title: "Now: \(HTMLFormat.utc(now, withSeconds: true))") { s in
            s.line(px, l.markTop, px, l.axisY, stroke: Self.colors.now, width: 2, dash: nil)
            s.text(px + 5, l.backupY + l.font * 0.35, "now", fill: Self.colors.now, anchor: "start", bold: true)
        }
    }

    private func drawAxis(_ s: inout SVGText, _ l: Layout, _ r: (start: Date, end: Date)) {
        s.line(l.left, l.axisY, l.right, l.axisY, stroke: Self.colors.axis, width: 1, dash: nil)
        let ticks = AxisTicks(start: r.start, end: r.end, maxTicks: l.maxTicks)
        for (i, t) in ticks.dates.enumerated() {
            let px = x(t, l, r)
            s.line(px, l.axisY, px, l.axisY + 4, stroke: Self.colors.axis, width: 1, dash: nil)
            let anchor = px < l.left + 30 ? "start" : (px > l.right - 30 ? "end" : "middle")
            s.text(px, l.axisY + 6 + l.font, ticks.label(t, first: i == 0), fill: "#57606a", anchor: anchor)
        }
    }

    // MARK: Legend

    private static let legendItems = ["level-0 backup", "level-1 backup", "cumulative level-1", "archived logs", "online logs", "gap", "restore point", "incarnation", "recovery window"]

    /// The key to the marks, in one line starting at x = 0.
    static func drawLegend(_ s: inout SVGText, y: Double) {
        var px = 8.0
        for item in legendItems {
            drawSwatch(&s, item, px + 7, y)
            s.text(px + 20, y + 4, item, fill: "#424a53", anchor: "start")
            px += 30 + Double(item.count) * 6.4
        }
    }

    /// The legend alone, as its own small `<svg>` (the overview page shows it once).
    static func legend() -> String {
        var s = SVGText()
        s.open(width: 1000, height: 24, label: "Key to the recovery-window pictures", font: 12)
        drawLegend(&s, y: 12)
        s.close()
        return s.text
    }

    private static func drawSwatch(_ s: inout SVGText, _ item: String, _ cx: Double, _ cy: Double) {
        switch item {
        case "level-0 backup": s.polygon([(cx, cy - 7), (cx + 7, cy), (cx, cy + 7), (cx - 7, cy)], fill: colors.level0, stroke: nil)
        case "level-1 backup": s.circle(cx, cy, 5, fill: colors.level1, stroke: nil, width: 0)
        case "cumulative level-1": s.circle(cx, cy, 4.5, fill: "#ffffff", stroke: colors.level1, width: 2.5)
        case "archived logs": s.rect(cx - 8, cy - 5, 16, 10, fill: colors.archived, cls: nil, title: nil)
        case "online logs": s.rect(cx - 8, cy - 5, 16, 10, fill: colors.online, cls: nil, title: nil)
        case "gap": s.rect(cx - 2, cy - 8, 4, 16, fill: colors.gap, cls: nil, title: nil)
        case "restore point":
            s.line(cx - 3, cy - 8, cx - 3, cy + 8, stroke: colors.restorePoint, width: 1.5, dash: nil)
            s.polygon([(cx - 3, cy - 8), (cx + 6, cy - 4), (cx - 3, cy)], fill: colors.restorePoint)
        case "incarnation": s.line(cx, cy - 8, cx, cy + 8, stroke: colors.incarnation, width: 1.5, dash: "4 3")
        default: s.rect(cx - 8, cy - 7, 16, 14, fill: colors.window, cls: nil, title: nil)
        }
    }
}
