import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest
#if canImport(FoundationXML)
import FoundationXML
#endif

final class ReportTests: XCTestCase {
    /// Parses SVG text as XML and counts elements by name.
    func elements(_ svg: String) -> [String: Int] {
        final class Counter: NSObject, XMLParserDelegate {
            var counts: [String: Int] = [:]
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                        attributes: [String: String] = [:]) {
                counts[name, default: 0] += 1
            }
        }
        let parser = XMLParser(data: Data(svg.utf8))
        let counter = Counter()
        parser.delegate = counter
        XCTAssertTrue(parser.parse(), "SVG must be well-formed XML: \(parser.parserError.map { "\($0)" } ?? "")")
        return counter.counts
    }

    func testPlotIsWellFormedAndSkipsNonFinitePoints() {
        let plot = SVGPlot(title: "a < b & c", xLabel: "t", yLabel: "y", series: [
            .init(name: "one", x: [0, 1, 2, 3], y: [1, .nan, 3, 4], yError: [0.1, 0.1, 0.2, 0.2]),
            .init(name: "two", x: [0, 1], y: [2, 2]),
        ])
        let svg = plot.render()
        let counts = elements(svg)
        XCTAssertEqual(counts["polyline"], 2)
        XCTAssertEqual(counts["circle"], 5, "three finite points of one, two of two")
        XCTAssertTrue(svg.contains("a &lt; b &amp; c"))
        let empty = SVGPlot(title: "none", xLabel: "x", yLabel: "y", series: [.init(name: "n", x: [1], y: [.nan])]).render()
        XCTAssertTrue(empty.contains("no finite data"))
        _ = elements(empty)
    }

    /// Points outside a fixed y range are drawn as triangles on the edge and
    /// counted in a note; a log axis has a tick at or below its smallest value;
    /// scatter and bar series draw no polyline.
    func testClippedPointsLogTicksScatterAndBars() {
        var loss = SVGPlot(title: "loss", xLabel: "epoch", yLabel: "loss",
                           series: [.init(name: "loss", x: [1, 2, 3, 4, 5], y: [50, 9, 3, 2, 1.5])])
        loss.yRange = 1...4
        let svg = loss.render()
        XCTAssertEqual(elements(svg)["polygon"], 2, "two epochs above the frame")
        XCTAssertTrue(svg.contains("2 points above the frame (up to 50)"), svg)
        let rho = SVGPlot(title: "rho", xLabel: "t", yLabel: "rho",
                          series: [.init(name: "rho", x: [0, 1, 2, 3], y: [1, 0.2, 0.01, 0.00003])], logY: true).render()
        XCTAssertTrue(rho.contains(">1.0e-05</text>"), "a decade tick at or below 3e-5")
        let scatter = SVGPlot(title: "s", xLabel: "S", yLabel: "S_eff",
                              series: [.init(name: "p", x: [1, 2, 3], y: [1, 2.5, 3], style: .points)]).render()
        XCTAssertEqual(elements(scatter)["circle"], 3)
        XCTAssertNil(elements(scatter)["polyline"])
        var bars = SVGPlot(title: "b", xLabel: "run", yLabel: "n",
                           series: [.init(name: "n", x: [1.4, 2.8, 5.7], y: [40, .nan, 2], style: .bars)], logY: true)
        bars.logX = true
        XCTAssertEqual(elements(bars.render())["rect"], 2 + 2 + 1, "background, frame, one bar per non-empty bin, the legend's box")
    }

    func testLogAxisTicksAreRoundNumbers() {
        let ticks = SVGPlot(title: "", xLabel: "", yLabel: "", series: [
            .init(name: "c", x: [0, 1, 2], y: [0.3, 0.05, 0.021]),
        ], logY: true).render()
        for label in [">0.2<", ">0.1<", ">0.05<"] { XCTAssertTrue(ticks.contains(label), label) }
        XCTAssertFalse(ticks.contains("0.316228"))
    }

    func testReportCombinesTrainingAndAnalyses() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cfg = try testConfig(name: "r", result: dir, L: 4, M2: 0.5, lam: 0, batch: 8, iterations: 3, epochs: 2,
                                 lr: 0.001, layers: 2, hidden: [4], evalSamples: 16)
        let trainer = try Trainer(config: cfg, configText: "# the config\n")
        try trainer.train()
        var hmc = HMC(action: cfg.action, stepSize: 0.2, steps: 5, seed: 1)
        var m = Measurements(lattice: cfg.lattice)
        for _ in 0..<200 { hmc.trajectory(); m.add(hmc.phi) }
        let obs = Observables(m)
        try AtomicFile.write(Observables.jsonEncoder.encode(obs), to: trainer.resultDirectory.appendingPathComponent("hmc.analysis.json"))
        XCTAssertEqual(try Observables.load(path: trainer.resultDirectory.appendingPathComponent("hmc.analysis.json").path).susceptibility,
                       obs.susceptibility)
        let html = try HTMLReport.build(resultDirectory: trainer.resultDirectory)
        // Loss, acceptance and ESS (16 evaluation proposals are too few for a Pareto fit), then the analysis's
        // correlator, effective mass and autocorrelation, its binning curves and its rejection runs if any.
        let figures = html.components(separatedBy: "<svg").count - 1
        XCTAssertTrue((6...8).contains(figures), "\(figures) figures")
        XCTAssertFalse(html.contains("Pareto k of the evaluation weights"))
        XCTAssertEqual(html.contains("Binned error against block size"), (obs.blockSizes?.count ?? 0) >= 2)
        XCTAssertEqual(html.contains("Runs of consecutive rejections"), obs.chain?.longestRejectionRun ?? 0 > 0)
        XCTAssertEqual(figures, 6 + (html.contains("Binned error") ? 1 : 0) + (html.contains("Runs of consecutive") ? 1 : 0))
        XCTAssertTrue(html.contains("hmc.analysis.json"))
        XCTAssertTrue(html.contains("# the config"))
        XCTAssertTrue(html.contains(String(format: "%.6g", obs.susceptibility.value)))
        XCTAssertFalse(html.contains("<script"), "no scripts: the page is static")
    }
}
