import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest

/// The braille chart and `gomalizing watch`.
final class WatchTests: XCTestCase {
    /// The plot rows (between the frame's top and bottom) with the frame stripped.
    func plotRows(_ lines: [String]) -> [[Character]] {
        lines.filter { $0.contains("│") }.map { line in
            let inner = line.split(separator: "│", omittingEmptySubsequences: false)
            return Array(inner[1])
        }
    }

    /// The dot bits of a braille character.
    func dots(_ c: Character) -> UInt32 { c.unicodeScalars.first!.value - 0x2800 }

    func testDiagonalLineLightsTheCornerDots() {
        let chart = TerminalChart(title: "t", xLabel: "epoch", x: [0, 1], y: [1, 0])
        let lines = chart.render(width: 30, height: 4)
        let rows = plotRows(lines)
        XCTAssertEqual(rows.count, 4)
        // The top-left cell holds braille dot 1 (bit 0x01), the bottom-right cell dot 8 (bit 0x80).
        XCTAssertEqual(dots(rows[0].first!) & 0x01, 0x01)
        XCTAssertEqual(dots(rows[3].last!) & 0x80, 0x80)
        XCTAssertEqual(dots(rows[0].last!), 0)
        XCTAssertEqual(dots(rows[3].first!), 0)
        // A descending line: every row has dots, and each row's dots sit right of the row above's.
        func firstDot(_ r: [Character]) -> Int { r.firstIndex { $0 != "\u{2800}" }! }
        for r in 1..<4 { XCTAssertGreaterThanOrEqual(firstDot(rows[r]), firstDot(rows[r - 1])) }
        // Every frame line is exactly the requested width; labels show the y range.
        for line in lines.dropFirst().dropLast() { XCTAssertEqual(line.count, 30, line) }
        XCTAssertTrue(lines[2].hasPrefix("1 "), lines[2])
        XCTAssertTrue(lines[5].hasPrefix("0 "), lines[5])
        XCTAssertTrue(lines.last!.contains("epoch"))
    }

    func testMissingValuesBreakTheLine() {
        let chart = TerminalChart(title: "t", xLabel: "x", x: [0, 1, 2], y: [0, .nan, 1])
        let rows = plotRows(chart.render(width: 40, height: 5))
        // Two isolated points, no segment between them.
        let lit = rows.joined().filter { $0 != "\u{2800}" }
        XCTAssertEqual(lit.count, 2)
    }

    func testFixedRangeClampsOutliersToTheFrame() {
        let chart = TerminalChart(title: "t", xLabel: "x", x: [0, 1], y: [1000, 0.5], yRange: 0...1)
        let lines = chart.render(width: 30, height: 3)
        XCTAssertTrue(lines[2].hasPrefix("1 "))
        XCTAssertEqual(dots(plotRows(lines)[0].first!) & 0x01, 0x01, "the outlier is drawn on the top edge")
    }

    func testDegenerateInputsStillDraw() {
        for (x, y) in [([5.0], [2.0]), ([1, 2, 3], [4, 4, 4]), ([], []), ([1, 2], [Double.infinity, .nan])] {
            let lines = TerminalChart(title: "t", xLabel: "x", x: x, y: y).render(width: 24, height: 3)
            XCTAssertEqual(lines.count, 7)
            let lit = plotRows(lines).joined().filter { $0 != "\u{2800}" }.count
            if y.contains(where: \.isFinite) { XCTAssertGreaterThan(lit, 0, "\(x) \(y)") } else { XCTAssertEqual(lit, 0) }
        }
    }

    // MARK: the command

    func writeConfig(_ dir: URL, epochs: Int, iterations: Int = 60) throws -> URL {
        let url = dir.appendingPathComponent("w.toml")
        try """
        [training]
        batchsize = 8
        epochs = \(epochs)
        iterations = \(iterations)
        base_lr = 0.001
        eval_samples = 64
        result = "\(dir.appendingPathComponent("res").path)"
        [physical]
        L = 4
        Nd = 2
        M2 = -1
        lam = 0.5
        [model]
        n_layers = 2
        hidden_sizes = [4]
        kernel_size = 3
        """.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func testWatchOnceDrawsTheHistoryAndRejectsUnknownItems() throws {
        guard let exe = builtExecutable() else { throw XCTSkip("gomalizing executable not built") }
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cfg = try writeConfig(dir, epochs: 3)
        let none = try runProcess(exe, ["watch", cfg.path, "--once"])
        XCTAssertEqual(none.code, 2)
        XCTAssertTrue(none.err.contains("history.csv: no history yet"), none.err)
        XCTAssertEqual(try runProcess(exe, ["train", cfg.path, "--quiet"]).code, 0)

        for target in [cfg.path, dir.appendingPathComponent("res/w").path, dir.appendingPathComponent("res/w/history.csv").path] {
            let r = try runProcess(exe, ["watch", target, "--once", "--item", "ess", "--width", "60", "--height", "8"])
            XCTAssertEqual(r.code, 0, r.err)
            XCTAssertTrue(r.out.contains("w ess | epoch 3:"), r.out)
            XCTAssertEqual(r.out.split(separator: "\n").filter { $0.contains("│") }.count, 8)
            XCTAssertTrue(r.out.unicodeScalars.contains { (0x2801...0x28FF).contains($0.value) }, "braille dots drawn")
        }
        let bad = try runProcess(exe, ["watch", cfg.path, "--once", "--item", "nope"])
        XCTAssertEqual(bad.code, 2)
        XCTAssertTrue(bad.err.hasPrefix("error: command line: --item nope: not a column"), bad.err)
        XCTAssertEqual(bad.err.split(separator: "\n").count, 1)
    }

    /// Started before training, watch waits, then redraws as epochs arrive, and
    /// Ctrl-C ends it with status 0.
    func testWatchFollowsARunningTraining() throws {
        guard let exe = builtExecutable() else { throw XCTSkip("gomalizing executable not built") }
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cfg = try writeConfig(dir, epochs: 4, iterations: 1500)
        let watch = Process()
        watch.executableURL = exe
        watch.arguments = ["watch", cfg.path, "--interval", "0.05", "--width", "50", "--height", "4"]
        let out = Pipe()
        watch.standardOutput = out
        watch.standardError = FileHandle.nullDevice
        try watch.run()
        final class Box: @unchecked Sendable { var data = Data() }
        let box = Box(), done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            box.data = out.fileHandleForReading.readDataToEndOfFile()
            done.signal()
        }
        usleep(300_000)
        let train = try runProcess(exe, ["train", cfg.path, "--quiet"])
        XCTAssertEqual(train.code, 0, train.err)
        usleep(500_000)
        kill(watch.processIdentifier, SIGINT)
        watch.waitUntilExit()
        done.wait()
        XCTAssertEqual(watch.terminationStatus, 0)
        let text = String(decoding: box.data, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("waiting for "), text)
        let frames = text.split(separator: "\n").filter { $0.hasPrefix("w acceptance_rate | epoch") }
        XCTAssertGreaterThanOrEqual(frames.count, 2, "redrawn as epochs arrive: \(text)")
        XCTAssertTrue(frames.last?.contains("epoch 4:") ?? false, text)
    }
}
