import ArgumentParser

/// `--threads`, one declaration and one check for train, sample, sweep and bench.
struct ThreadOption: ParsableArguments {
    @Option(parsing: .unconditional,
            help: "Worker threads per process (sweep: per run). Default: the config's [device] threads where the command reads a config and it sets them, else one per core (sweep: the cores divided by --parallel).")
    var threads: Int?

    func validate() throws { try OptionChecks.threads(threads) }
}

/// `--device` of train and sample: GomalizingFlow.jl's configs and scripts
/// name a device; this build runs on the CPU only.
struct DeviceOption: ParsableArguments {
    @Option(help: "Where to compute: cpu (the only device of this build).")
    var device = "cpu"

    /// Refuses any device but the CPU, in one line (inside the command's error reporting).
    func check() throws { try checkDevice(device) }
}

/// `--overwrite` of the commands that write a chain or an analysis (sample, hmc, analyze).
struct OverwriteOption: ParsableArguments {
    @Flag(help: "Replace existing output files (analyze replaces this chain's own earlier analysis without it); a replaced chain's table, provenance record and analysis go with it.")
    var overwrite = false
}
