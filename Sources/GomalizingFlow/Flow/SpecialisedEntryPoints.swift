/// Float copies of the library's hot generic methods, for callers in other modules.
///
/// A generic method called from another module runs the unspecialised code,
/// with every arithmetic operation a witness-table call (measured 100-1000x
/// slower: 33 s against 0.13 s for a batch-64 training step). So each hot
/// public method (`Flow.forward`, `inverse`, `pullback`, `densityGradient`,
/// `BatchRunner.run`, `PriorDraws.fill`, `Phi4Action.action` and `force`)
/// first tests `T.self == Float.self` and, if so, calls the function here,
/// which this module compiles for Float. Inside the module the test is folded
/// away; from outside it costs one comparison per call.
enum SpecialisedEntryPoints {
    static func forward(_ flow: Flow<Float>, _ tape: FlowTape<Float>, _ n: Int, _ forPullback: Bool) {
        flow.forwardBody(tape: tape, n: n, forPullback: forPullback)
    }

    static func inverse(_ flow: Flow<Float>, _ tape: FlowTape<Float>, _ n: Int) {
        flow.inverseBody(tape: tape, n: n)
    }

    static func pullback(_ flow: Flow<Float>, _ tape: FlowTape<Float>, _ n: Int, _ dPhi: UnsafePointer<Float>,
                         _ dLogJ: UnsafePointer<Float>, _ grads: UnsafeMutablePointer<Float>, _ dZ: UnsafeMutablePointer<Float>?) {
        flow.pullbackBody(tape: tape, n: n, dPhi: dPhi, dLogJ: dLogJ, grads: grads, dZ: dZ)
    }

    static func densityGradient(_ flow: Flow<Float>, _ tape: FlowTape<Float>, _ n: Int, _ dLogQ0: UnsafePointer<Float>,
                                _ out: UnsafeMutablePointer<Float>) {
        flow.densityGradientBody(tape: tape, n: n, dLogQ0: dLogQ0, into: out)
    }

    static func run(_ runner: BatchRunner<Float>, _ z: UnsafePointer<Float>, _ withGradient: Bool, _ training: Bool) -> Double {
        runner.runBody(z: z, withGradient: withGradient, training: training)
    }

    static func fill(_ draws: PriorDraws, _ z: UnsafeMutablePointer<Float>, _ step: Int, _ first: Int, _ count: Int, _ threads: Int) {
        draws.fillBody(z, step: step, first: first, count: count, threads: threads)
    }

    static func action(_ action: Phi4Action, _ phi: UnsafePointer<Float>) -> Double { action.actionBody(phi) }

    static func action(_ action: Phi4Action, _ phi: UnsafePointer<Double>) -> Double { action.actionBody(phi) }

    static func force(_ action: Phi4Action, _ phi: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ scale: Double) {
        action.forceBody(phi, into: out, scale: scale)
    }

    static func force(_ action: Phi4Action, _ phi: UnsafePointer<Double>, _ out: UnsafeMutablePointer<Double>, _ scale: Double) {
        action.forceBody(phi, into: out, scale: scale)
    }
}

extension UnsafePointer {
    /// The same address as a pointer to `Pointee`; for the dispatch above,
    /// where `U` is `Pointee` at run time.
    static func cast<U>(_ p: UnsafePointer<U>) -> UnsafePointer<Pointee> {
        UnsafeRawPointer(p).assumingMemoryBound(to: Pointee.self)
    }
}

extension UnsafeMutablePointer {
    /// The same address as a pointer to `Pointee` (see `UnsafePointer.cast`).
    static func cast<U>(_ p: UnsafeMutablePointer<U>) -> UnsafeMutablePointer<Pointee> {
        UnsafeMutableRawPointer(p).assumingMemoryBound(to: Pointee.self)
    }
}
