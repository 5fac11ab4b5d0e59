import ArgumentParser
import Foundation
import GomalizingFlow

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write <result folder>/report.html: training curves and every analysis in the folder, self-contained.")

    @Argument(help: "A result folder written by `train`, e.g. result/example2d.")
    var resultFolder: String

    func run() throws {
        try reportingErrors {
            let dir = URL(fileURLWithPath: resultFolder)
            let html = try HTMLReport.build(resultDirectory: dir)
            let url = dir.appendingPathComponent("report.html")
            try AtomicFile.write(html, to: url)
            print("wrote \(url.path)")
        }
    }
}
