import ArgumentParser
import Foundation
import GomalizingFlow

struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Observables with errors and autocorrelation times from a .npy chain of configurations.")

    @Argument(help: "Configurations, shape (N, L, ..., L), as written by `sample` or `hmc`.")
    var file: String

    @Option(help: "The TOML config the configurations belong to.")
    var config: String

    @Option(help: "Configurations to skip at the start (thermalisation).")
    var skip: Int = 0

    @Option(help: "Output JSON (default: FILE with .analysis.json).")
    var json: String?

    func validate() throws {
        if skip < 0 { throw ValidationError("--skip must be >= 0") }
    }

    func run() throws {
        try reportingErrors {
            let cfg = try Config.load(path: config)
            let npy = try NpyFile(path: file)
            let m = try Measurements.read(npy: npy, lattice: cfg.lattice, skip: skip)
            let obs = Observables(m)
            func row(_ name: String, _ e: Estimate) -> String {
                String(format: "%-22@ %14.6g ± %-12.4g tau_int %7.2f ± %.2f", name as NSString, e.value, e.error, e.tauInt, e.tauIntError)
            }
            print("\(obs.configurations) configurations, jackknife blocks of \(obs.blockSize)")
            print(row("chi_2", obs.susceptibility))
            print(row("E (Ising energy)", obs.isingEnergy))
            print(row("<|M|>", obs.absMagnetization))
            print(row("pole mass", obs.poleMass))
            for (t, e) in obs.C.enumerated() { print(row("C(\(t))", e)) }
            for (k, e) in obs.effectiveMass.enumerated() { print(row("m_eff(\(k + 1))", e)) }
            let url = json.map { URL(fileURLWithPath: $0) }
                ?? URL(fileURLWithPath: file).deletingPathExtension().appendingPathExtension("analysis.json")
            try AtomicFile.write(try Observables.jsonEncoder.encode(obs), to: url)
            let csvURL = url.deletingPathExtension().appendingPathExtension("csv")
            var lines = ["observable,index,value,error,tau_int,tau_int_error"]
            func add(_ name: String, _ i: Int, _ e: Estimate) {
                lines.append("\(name),\(i),\(e.value),\(e.error),\(e.tauInt),\(e.tauIntError)")
            }
            add("chi_2", 0, obs.susceptibility)
            add("E", 0, obs.isingEnergy)
            add("abs_M", 0, obs.absMagnetization)
            add("pole_mass", 0, obs.poleMass)
            for (t, e) in obs.C.enumerated() { add("C", t, e) }
            for (k, e) in obs.effectiveMass.enumerated() { add("m_eff", k + 1, e) }
            for (x, e) in obs.G.enumerated() { add("G", x, e) }
            try AtomicFile.write(lines.joined(separator: "\n") + "\n", to: csvURL)
            let base = url.deletingPathExtension()  // FILE.analysis
            for (suffix, plot) in [("C", Figures.correlator(obs)), ("meff", Figures.effectiveMass(obs)),
                                   ("autocorr", Figures.autocorrelation(obs))] {
                try AtomicFile.write(plot.render(), to: base.appendingPathExtension(suffix).appendingPathExtension("svg"))
            }
            print("wrote \(url.path), \(csvURL.path) (G indexed by site, row-major) and \(base.lastPathComponent).{C,meff,autocorr}.svg")
        }
    }
}
