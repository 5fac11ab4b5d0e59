import Foundation
import GomalizingFlow

/// A small self-contained SVG line chart with axes, ticks, labels, a legend and
/// optional error bars: enough for correlators, effective masses, autocorrelation
/// functions and training curves, viewable in any browser without a server.
public struct SVGPlot {
    /// One data set of the chart and how it is drawn.
    public struct Series {
        /// A polyline (with markers when short), markers only, or bars from the
        /// bottom of the frame (a histogram: x at the bins' centres).
        public enum Style { case line, points, bars }
        /// Legend entry.
        public var name: String
        /// x coordinates of the points.
        public var x: [Double]
        /// y coordinates; a point with a non-finite x or y is skipped.
        public var y: [Double]
        /// Symmetric error bars on y, or nil.
        public var yError: [Double]?
        /// Line, points or bars.
        public var style: Style
        /// Drawing: a colour (default: the palette by position), line width
        /// and opacity, and whether the legend names the series (several
        /// seeds of one setting share one entry).
        public var color: String? = nil
        /// Stroke width of a line.
        public var lineWidth = 1.5
        /// Stroke opacity of a line; below 1 also drops its markers.
        public var opacity = 1.0
        /// Whether the legend lists the series.
        public var inLegend = true
        /// Markers on the points of a short line (off for many overlaid curves).
        public var markers = true
        /// An SVG dash pattern, e.g. "6 3", telling apart series that share a colour.
        public var dash: String? = nil
        /// A series in the palette colour of its position.
        public init(name: String, x: [Double], y: [Double], yError: [Double]? = nil, style: Style = .line) {
            self.name = name
            self.x = x
            self.y = y
            self.yError = yError
            self.style = style
        }
    }

    /// Chart title.
    public var title: String
    /// Label of the x axis.
    public var xLabel: String
    /// Label of the y axis.
    public var yLabel: String
    /// The data sets, drawn in order.
    public var series: [Series]
    /// log10 y axis; non-positive values are dropped.
    public var logY = false
    /// log10 x axis; non-positive values are dropped.
    public var logX = false
    /// Fixed y range; points outside are drawn on the frame's edge as open
    /// triangles, and a note says how many and how far (e.g. the first epochs
    /// of a loss curve, which dwarf the rest).
    public var yRange: ClosedRange<Double>? = nil
    /// A line of text under the title (a verdict, a fitted value).
    public var note: String? = nil
    /// The legend in the lower right corner instead of the upper right (for curves that rise).
    public var legendAtBottom = false
    /// Width of the SVG in pixels.
    public var width = 640.0
    /// Height of the SVG in pixels.
    public var height = 400.0

    /// The width of an average character of the 12-pixel sans-serif font, for sizing the legend.
    static let characterWidth = 6.8

    /// Colours of series without their own, by position.
    public static let colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                                "#bcbd22", "#17becf"]

    /// A chart of `series`, 640 x 400 pixels.
    public init(title: String, xLabel: String, yLabel: String, series: [Series], logY: Bool = false) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.logY = logY
    }

    /// Round tick positions (1, 2, 5 times a power of ten) covering [lo, hi].
    static func ticks(_ lo: Double, _ hi: Double, count: Int = 6) -> [Double] {
        guard hi > lo, lo.isFinite, hi.isFinite else { return [lo] }
        let raw = (hi - lo) / Double(count)
        let mag = Foundation.pow(10, Foundation.floor(Foundation.log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        var t = Foundation.ceil(lo / step) * step
        var out: [Double] = []
        while t <= hi + 1e-9 * step {
            out.append(abs(t) < 1e-12 * step ? 0 : t)
            t += step
        }
        return out
    }

    /// Ticks of a log10 axis: log10 of 1, 2, 5 times powers of ten inside [lo, hi]
    /// (only powers of ten when the range spans many decades).
    static func logTicks(_ lo: Double, _ hi: Double) -> [Double] {
        guard hi > lo, lo.isFinite, hi.isFinite else { return [lo] }
        let mantissas: [Double] = hi - lo > 4 ? [1] : [1, 2, 5]
        var out: [Double] = []
        for k in Int(Foundation.floor(lo))...Int(Foundation.ceil(hi)) {
            for m in mantissas {
                let t = Foundation.log10(m) + Double(k)
                if t >= lo && t <= hi { out.append(t) }
            }
        }
        return out
    }

    static func label(_ v: Double) -> String {
        if v == 0 { return "0" }
        let a = abs(v)
        if a >= 1e4 || a < 1e-3 { return String(format: "%.1e", v) }
        return String(format: "%g", (v * 1e6).rounded() / 1e6)
    }

    /// `s` with &, < and > escaped, for SVG and HTML text.
    public static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    /// The chart as one `<svg>` element, ready to inline in HTML.
    public func render() -> String {
        let left = 70.0, right = 20.0, top = note == nil ? 40.0 : 56.0, bottom = 55.0
        let pw = width - left - right, ph = height - top - bottom
        // The legend goes inside the frame when it is small, else below the
        // chart (which grows to hold it), so that it never hides the curves.
        let legend = series.enumerated().filter { $0.element.inLegend }.map { k, s in
            (name: s.name, color: s.color ?? SVGPlot.colors[k % SVGPlot.colors.count], dash: s.dash)
        }
        let legendTextWidth = Double(legend.map(\.name.count).max() ?? 0) * SVGPlot.characterWidth
        let legendBelow = legend.count > 4 || legendTextWidth + 36 > pw / 2
        let totalHeight = height + (legendBelow && !legend.isEmpty ? Double(legend.count) * 16 + 8 : 0)
        func ty(_ v: Double) -> Double? {
            guard v.isFinite else { return nil }
            if logY { return v > 0 ? Foundation.log10(v) : nil }
            return v
        }
        func tx(_ v: Double) -> Double? {
            guard v.isFinite else { return nil }
            if logX { return v > 0 ? Foundation.log10(v) : nil }
            return v
        }
        var xs: [Double] = [], ys: [Double] = []
        for s in series {
            for i in s.x.indices where i < s.y.count {
                let e = s.yError?[i] ?? 0
                for v in [s.y[i] - (e.isFinite ? e : 0), s.y[i] + (e.isFinite ? e : 0)] {
                    if let t = ty(v), let x = tx(s.x[i]) { xs.append(x); ys.append(t) }
                }
            }
        }
        // Bars span their bins: widen the x range by half a bin on each side.
        let barHalfWidth: Double = series.filter { $0.style == .bars }.compactMap { s -> Double? in
            let x = s.x.compactMap(tx).sorted()
            return x.count >= 2 ? (x[x.count - 1] - x[0]) / Double(x.count - 1) / 2 : 0.5
        }.max() ?? 0
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(totalHeight))\" viewBox=\"0 0 \(Int(width)) \(Int(totalHeight))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        out += "<text x=\"\(width / 2)\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">\(SVGPlot.escape(title))</text>\n"
        if let note { out += "<text x=\"\(width / 2)\" y=\"40\" text-anchor=\"middle\" font-size=\"12\" fill=\"#444\">\(SVGPlot.escape(note))</text>\n" }
        guard var x0 = xs.min(), var x1 = xs.max(), var y0 = ys.min(), var y1 = ys.max() else {
            out += "<text x=\"\(width / 2)\" y=\"\(height / 2)\" text-anchor=\"middle\">no finite data</text>\n</svg>\n"
            return out
        }
        if let r = yRange, let lo = ty(r.lowerBound), let hi = ty(r.upperBound), hi > lo {
            y0 = lo
            y1 = hi
        }
        x0 -= barHalfWidth
        x1 += barHalfWidth
        if x1 == x0 { x0 -= 1; x1 += 1 }
        if y1 == y0 { y0 -= abs(y0) * 0.1 + 1e-12; y1 += abs(y1) * 0.1 + 1e-12 }
        if logY {
            // Whole decades, so that a tick lies at or below the smallest value.
            y0 = Foundation.floor(y0)
            y1 = Swift.max(Foundation.ceil(y1), y0 + 1)
        } else {
            let pad = 0.05 * (y1 - y0)
            y0 -= pad
            y1 += pad
        }
        if series.contains(where: { $0.style == .bars }) && !logY { y0 = Swift.min(y0, 0) }
        if logX {
            x0 = Foundation.floor(x0)
            x1 = Swift.max(Foundation.ceil(x1), x0 + 1)
        }
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * pw }
        func py(_ t: Double) -> Double { top + (1 - (min(max(t, y0), y1) - y0) / (y1 - y0)) * ph }
        func f(_ v: Double) -> String { String(format: "%.2f", v) }
        // Axes, grid and tick labels.
        out += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(pw)\" height=\"\(ph)\" fill=\"none\" stroke=\"#333\"/>\n"
        for t in logX ? SVGPlot.logTicks(x0, x1) : SVGPlot.ticks(x0, x1) {
            out += "<line x1=\"\(f(px(t)))\" y1=\"\(top)\" x2=\"\(f(px(t)))\" y2=\"\(top + ph)\" stroke=\"#eee\"/>"
            let text = logX ? String(format: "%g", Foundation.pow(10, t)) : SVGPlot.label(t)
            out += "<text x=\"\(f(px(t)))\" y=\"\(top + ph + 16)\" text-anchor=\"middle\">\(text)</text>\n"
        }
        for t in logY ? SVGPlot.logTicks(y0, y1) : SVGPlot.ticks(y0, y1) {
            out += "<line x1=\"\(left)\" y1=\"\(f(py(t)))\" x2=\"\(left + pw)\" y2=\"\(f(py(t)))\" stroke=\"#eee\"/>"
            let text = logY ? SVGPlot.label(Foundation.pow(10, t)) : SVGPlot.label(t)
            out += "<text x=\"\(left - 6)\" y=\"\(f(py(t) + 4))\" text-anchor=\"end\">\(text)</text>\n"
        }
        out += "<text x=\"\(left + pw / 2)\" y=\"\(height - 12)\" text-anchor=\"middle\">\(SVGPlot.escape(xLabel + (logX ? " (log scale)" : "")))</text>\n"
        out += "<text x=\"16\" y=\"\(top + ph / 2)\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(top + ph / 2))\">\(SVGPlot.escape(yLabel + (logY ? " (log scale)" : "")))</text>\n"
        // Data: a polyline per series through its finite points, error bars,
        // markers; points outside a fixed y range as triangles on the edge.
        var above = 0, below = 0, farthest = -Double.infinity, lowest = Double.infinity
        for (k, s) in series.enumerated() {
            let color = s.color ?? SVGPlot.colors[k % SVGPlot.colors.count]
            var pts: [String] = []
            for i in s.x.indices where i < s.y.count {
                guard let t = ty(s.y[i]), let xt = tx(s.x[i]) else { continue }
                let x = px(xt), y = py(t)
                if s.style == .bars {
                    let baseline = py(y0)
                    out += "<rect x=\"\(f(x - barHalfWidth / (x1 - x0) * pw))\" y=\"\(f(y))\" width=\"\(f(2 * barHalfWidth / (x1 - x0) * pw))\" height=\"\(f(Swift.max(0, baseline - y)))\" fill=\"\(color)\" fill-opacity=\"0.7\" stroke=\"white\" stroke-width=\"0.5\"/>"
                    continue
                }
                pts.append("\(f(x)),\(f(y))")
                if let e = s.yError?[i], e.isFinite, e > 0, let lo = ty(s.y[i] - e) ?? ty(s.y[i]), let hi = ty(s.y[i] + e) {
                    out += "<line x1=\"\(f(x))\" y1=\"\(f(py(lo)))\" x2=\"\(f(x))\" y2=\"\(f(py(hi)))\" stroke=\"\(color)\"/>"
                }
                if yRange != nil && (t > y1 || t < y0) {
                    let up = t > y1
                    if up { above += 1; farthest = Swift.max(farthest, s.y[i]) } else { below += 1; lowest = Swift.min(lowest, s.y[i]) }
                    // Pointing out of the frame, the tip on its edge.
                    let base = up ? y + 7 : y - 7
                    out += "<polygon points=\"\(f(x - 4)),\(f(base)) \(f(x + 4)),\(f(base)) \(f(x)),\(f(y))\" fill=\"white\" stroke=\"\(color)\"/>"
                } else if s.style == .points || (s.x.count <= 64 && s.opacity >= 1 && s.markers) {
                    out += "<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"\(s.style == .points ? 1.8 : 2.5)\" fill=\"\(color)\"\(s.style == .points ? " fill-opacity=\"0.6\"" : "")/>"
                }
            }
            if s.style == .line {
                let opacity = (s.opacity < 1 ? " stroke-opacity=\"\(s.opacity)\"" : "") + (s.dash.map { " stroke-dasharray=\"\($0)\"" } ?? "")
                out += "\n<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"\(s.lineWidth)\"\(opacity) points=\"\(pts.joined(separator: " "))\"/>\n"
            }
        }
        // The legend last, on a white box as wide as its longest name, so that
        // no curve crosses it and no name runs past the frame.
        if !legend.isEmpty {
            let boxWidth = legendBelow ? pw : Swift.min(pw - 8, legendTextWidth + 36), boxHeight = Double(legend.count) * 16 + 6
            let bx = legendBelow ? left : left + pw - boxWidth - 4
            let by = legendBelow ? height - 6 : legendAtBottom ? top + ph - boxHeight - 4 : top + 4
            if !legendBelow {
                out += "<rect x=\"\(f(bx))\" y=\"\(f(by))\" width=\"\(f(boxWidth))\" height=\"\(f(boxHeight))\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#ccc\"/>\n"
            }
            for (row, entry) in legend.enumerated() {
                let ly = by + 16 + Double(row) * 16
                out += "<line x1=\"\(f(bx + 6))\" y1=\"\(f(ly - 4))\" x2=\"\(f(bx + 26))\" y2=\"\(f(ly - 4))\" stroke=\"\(entry.color)\" stroke-width=\"2\"\(entry.dash.map { " stroke-dasharray=\"\($0)\"" } ?? "")/>"
                out += "<text x=\"\(f(bx + 31))\" y=\"\(f(ly))\"\(legendTextWidth + 36 > boxWidth ? " textLength=\"\(f(boxWidth - 37))\" lengthAdjust=\"spacingAndGlyphs\"" : "")>\(SVGPlot.escape(entry.name))</text>\n"
            }
        }
        var clipped: [String] = []
        if above > 0 { clipped.append("\(above) point\(above == 1 ? "" : "s") above the frame (up to \(SVGPlot.label(farthest)))") }
        if below > 0 { clipped.append("\(below) point\(below == 1 ? "" : "s") below it (down to \(SVGPlot.label(lowest)))") }
        if !clipped.isEmpty {
            out += "<text x=\"\(left + 6)\" y=\"\(top + ph - 8)\" font-size=\"11\" fill=\"#444\">△ \(SVGPlot.escape(clipped.joined(separator: "; ")))</text>\n"
        }
        out += "</svg>\n"
        return out
    }
}
