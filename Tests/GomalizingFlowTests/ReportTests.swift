import Foundation
import GomalizingFlow
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
        XCTAssertEqual(html.components(separatedBy: "<svg").count - 1, 3 + 3, "three training and three analysis figures")
        XCTAssertTrue(html.contains("hmc.analysis.json"))
        XCTAssertTrue(html.contains("# the config"))
        XCTAssertTrue(html.contains(String(format: "%.6g", obs.susceptibility.value)))
        XCTAssertFalse(html.contains("<script"), "no scripts: the page is static")
    }
}
