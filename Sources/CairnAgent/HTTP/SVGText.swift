/// A little SVG writer: elements appended to `text`, coordinates to a tenth of a unit, every
/// text escaped.
struct SVGText {
    private(set) var text = ""

    mutating func open(width: Double, height: Double, label: String, font: Double) {
        text += #"<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \#(n(width)) \#(n(height))" "#
        text += #"width="\#(n(width))" height="\#(n(height))" role="img" aria-label="\#(HTML.escape(label))" "#
        text += #"font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="\#(n(font))">"#
    }

    mutating func close() { text += "</svg>" }

    /// A `<g>` of class `cls` with a tooltip, holding what `body` draws.
    mutating func group(cls: String, title: String, _ body: (inout SVGText) -> Void) {
        text += #"<g class="\#(cls)"><title>\#(HTML.escape(title))</title>"#
        body(&self)
        text += "</g>"
    }

    mutating func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, fill: String, cls: String?, title: String?) {
        text += #"<rect\#(attribute("class", cls)) x="\#(n(x))" y="\#(n(y))" width="\#(n(max(0, w)))" height="\#(n(max(0, h)))" fill="\#(fill)""#
        if let title { text += "><title>\(HTML.escape(title))</title></rect>" } else { text += "/>" }
    }

    mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String, width: Double, dash: String?) {
        text += #"<line x1="\#(n(x1))" y1="\#(n(y1))" x2="\#(n(x2))" y2="\#(n(y2))" stroke="\#(stroke)" stroke-width="\#(n(width))"\#(attribute("stroke-dasharray", dash))/>"#
    }

    mutating func circle(_ cx: Double, _ cy: Double, _ r: Double, fill: String, stroke: String?, width: Double) {
        text += #"<circle cx="\#(n(cx))" cy="\#(n(cy))" r="\#(n(r))" fill="\#(fill)"\#(attribute("stroke", stroke))"#
        text += stroke == nil ? "/>" : #" stroke-width="\#(n(width))"/>"#
    }

    mutating func polygon(_ points: [(Double, Double)], fill: String, stroke: String? = nil) {
        let list = points.map { "\(n($0.0)),\(n($0.1))" }.joined(separator: " ")
        text += #"<polygon points="\#(list)" fill="\#(fill)"\#(attribute("stroke", stroke))/>"#
    }

    mutating func text(_ x: Double, _ y: Double, _ content: String, fill: String, anchor: String, bold: Bool = false) {
        text += #"<text x="\#(n(x))" y="\#(n(y))" fill="\#(fill)" text-anchor="\#(anchor)"\#(bold ? #" font-weight="600""# : "")>\#(HTML.escape(content))</text>"#
    }

    private func attribute(_ name: String, _ value: String?) -> String {
        guard let value else { return "" }
        return #" \#(name)="\#(HTML.escape(value))""#
    }

    /// `v` to a tenth: `12`, `12.5`.
    private func n(_ v: Double) -> String {
        let tenths = Int((v * 10).rounded())
        let sign = tenths < 0 ? "-" : ""
        let a = abs(tenths)
        return a % 10 == 0 ? sign + String(a / 10) : sign + String(a / 10) + "." + String(a % 10)
    }
}
