import ArgumentParser
import Foundation
import GomalizingFlow
import GomalizingRun

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write <result folder>/report.html: training curves and every analysis in the folder, self-contained.")

    @Argument(help: "A result folder written by `train`, e.g. result/example2d.")
    var resultFolder: String

    func run() throws {
        try reportingErrors {
            let dir = URL(fileURLWithPath: resultFolder)
            // What the report reads (history and analyses), parsed, is a few times their size on disk.
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [])
                .filter { $0 == "history.csv" || $0.hasSuffix(".analysis.json") }
            let bytes = names.reduce(0.0) { sum, name in
                let size = (try? FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent(name).path))?[.size]
                return sum + Double((size as? NSNumber)?.int64Value ?? 0)
            }
            try ResourceBudget.requireMemory(20 * bytes, file: dir.path, field: nil,
                                             for: "reading its history and \(names.count - (names.contains("history.csv") ? 1 : 0)) analyses")
            StaleTemporaries.clean(in: dir)
            let html = try HTMLReport.build(resultDirectory: dir)
            let url = dir.appendingPathComponent("report.html")
            try AtomicFile.write(html, to: url)
            for (file, why) in HTMLReport.staleAnalyses(in: dir) {
                print("warning: \(file) is stale and not shown: \(why)")
            }
            print("wrote \(url.path)")
        }
    }
}
