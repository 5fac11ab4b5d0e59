import Foundation
import GomalizingFlow

/// A line chart drawn with Unicode braille characters for a terminal: each
/// character cell holds 2 x 4 dots, so a W x H plot area resolves 2W x 4H points.
/// A frame with the y range on the left and the x range below, like
/// UnicodePlots' lineplot that GomalizingFlow.jl's watch uses.
public struct TerminalChart {
    /// First line of the output.
    public var title: String
    /// Label centred under the x axis.
    public var xLabel: String
    /// x values; a point with a non-finite x or y is not drawn and breaks the line.
    public var x: [Double]
    /// y values, e.g. a history.csv column.
    public var y: [Double]
    /// Fixed y range; points outside are drawn on the frame's edge.
    public var yRange: ClosedRange<Double>?

    /// A chart of `y` against `x`; the y range is the data's unless `yRange` is given.
    public init(title: String, xLabel: String, x: [Double], y: [Double], yRange: ClosedRange<Double>? = nil) {
        self.title = title
        self.xLabel = xLabel
        self.x = x
        self.y = y
        self.yRange = yRange
    }

    /// Bit of the dot at column c (0, 1) and row r (0...3) of a braille cell
    /// (U+2800 + bits): dots 1-3 and 7 are the left column, 4-6 and 8 the right.
    static func dotBit(column c: Int, row r: Int) -> UInt32 {
        let left: [UInt32] = [0x01, 0x02, 0x04, 0x40], right: [UInt32] = [0x08, 0x10, 0x20, 0x80]
        return c == 0 ? left[r] : right[r]
    }

    /// A short number for axis labels and summaries.
    public static func label(_ v: Double) -> String {
        if v == 0 { return "0" }
        let a = abs(v)
        return a >= 1e5 || a < 1e-3 ? String(format: "%.3g", v) : String(format: "%.4g", v)
    }

    /// The chart as lines of exactly `width` characters (the title line may be
    /// shorter), `height` rows of plot area plus title, frame and axis lines.
    public func render(width: Int, height: Int) -> [String] {
        let points = zip(x, y).filter { $0.0.isFinite && $0.1.isFinite }
        var (y0, y1) = yRange.map { ($0.lowerBound, $0.upperBound) }
            ?? (points.map(\.1).min() ?? 0, points.map(\.1).max() ?? 1)
        if y1 - y0 <= 1e-12 * max(1, abs(y0)) { (y0, y1) = (y0 - max(1, abs(y0)) * 0.05, y1 + max(1, abs(y1)) * 0.05) }
        var (x0, x1) = (points.map(\.0).min() ?? 0, points.map(\.0).max() ?? 1)
        if x1 <= x0 { (x0, x1) = (x0 - 1, x1 + 1) }

        let labels = [TerminalChart.label(y1), TerminalChart.label(y0)]
        let margin = labels.map(\.count).max()! + 1
        let W = max(4, width - margin - 2), H = max(2, height)
        let pw = 2 * W, ph = 4 * H
        var cells = [UInt32](repeating: 0, count: W * H)
        func plot(_ px: Int, _ py: Int) {
            guard (0..<pw).contains(px), (0..<ph).contains(py) else { return }
            cells[(py / 4) * W + px / 2] |= TerminalChart.dotBit(column: px % 2, row: py % 4)
        }
        func pixel(_ p: (Double, Double)) -> (Int, Int) {
            let fx = (p.0 - x0) / (x1 - x0), fy = (y1 - min(max(p.1, y0), y1)) / (y1 - y0)
            return (Int((fx * Double(pw - 1)).rounded()), Int((fy * Double(ph - 1)).rounded()))
        }
        // Bresenham between consecutive points; a missing (non-finite) value breaks the line.
        var previous: (Int, Int)? = nil
        for (xv, yv) in zip(x, y) {
            guard xv.isFinite, yv.isFinite else { previous = nil; continue }
            let (bx, by) = pixel((xv, yv))
            var (ax, ay) = previous ?? (bx, by)
            let dx = abs(bx - ax), dy = -abs(by - ay)
            let sx = ax < bx ? 1 : -1, sy = ay < by ? 1 : -1
            var err = dx + dy
            while true {
                plot(ax, ay)
                if ax == bx && ay == by { break }
                let e2 = 2 * err
                if e2 >= dy { err += dy; ax += sx }
                if e2 <= dx { err += dx; ay += sy }
            }
            previous = (bx, by)
        }

        func pad(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }
        var out = [title]
        out.append(String(repeating: " ", count: margin) + "┌" + String(repeating: "─", count: W) + "┐")
        for r in 0..<H {
            let label = r == 0 ? labels[0] : r == H - 1 ? labels[1] : ""
            let row = cells[(r * W)..<((r + 1) * W)].map { Character(Unicode.Scalar(0x2800 + $0)!) }
            out.append(pad(label, margin - 1) + " │" + String(row) + "│")
        }
        out.append(String(repeating: " ", count: margin) + "└" + String(repeating: "─", count: W) + "┘")
        let left = TerminalChart.label(x0), right = TerminalChart.label(x1)
        let gap = max(1, W + 2 - left.count - right.count - xLabel.count)
        let axis = left + String(repeating: " ", count: gap / 2) + xLabel + String(repeating: " ", count: gap - gap / 2) + right
        out.append(String(repeating: " ", count: margin) + axis)
        return out
    }
}
