/// The settings of a reverse-KL training run (a config's `[training]`
/// section, named here by its keys): what `TrainingLoop` needs, plus the keys
/// the run layer reads (`pretrained`, `result`, the early stops).
public struct TrainingSettings: Equatable, Sendable {
    /// The defaults of a config without the keys.
    public init() {}

    /// `seed`: seed of the prior draws for training, evaluation and acceptance.
    public var seed: UInt64 = 12345
    /// `batchsize`: configurations per optimisation step on each MPI rank.
    public var batchSize = 64
    /// `epochs`: epochs to train.
    public var epochs = 40
    /// `iterations`: optimisation steps per epoch.
    public var iterations = 100
    /// `base_lr`: the learning rate the schedule scales.
    public var baseLR = 0.001
    /// Proposals drawn after each epoch for the acceptance rate and ESS.
    public var evalSamples = 4096
    /// `pretrained`: a .safetensors model to start from, or "" for the seeded initialisation.
    public var pretrained = ""
    /// `grow_pretrained`: `pretrained` may hold fewer layers, narrower hidden
    /// layers or a smaller kernel; this flow then starts as its map (`ModelFile.grow`).
    public var growPretrained = false
    /// `shear_lr`: the learning rate of the shears' weights (`OrbitShear`), which the
    /// schedule scales like base_lr; nil: base_lr. One weight moves the shear at
    /// every displacement of its orbit, so base_lr moves a shear by about V base_lr.
    public var shearLR: Double? = nil
    /// `prior`: the distribution of the flow's input z.
    public var prior = PriorSpec.normal
    /// `lr_scheduler`: the learning rate per epoch.
    public var lrSchedule = LRSchedule.constant
    /// `result`: the folder that holds the run's result folder.
    public var result = "result"
    /// `[training] opt` (Flux's optimiser of that name at base_lr) and the
    /// threshold on the whole gradient's length, if any.
    public var optimiser = OptimiserKind.adam
    /// `clip_norm`: largest L2 norm of the whole gradient; nil for no clipping.
    public var clipNorm: Double? = nil
    /// `[training] gradient = "path"`: the path-gradient estimator of the
    /// reverse KL instead of the standard (reparametrisation) one.
    public var pathGradient = false
    /// Early stop: training ends after the first epoch whose acceptance
    /// reaches this many percent (nil: run every epoch).
    public var stopAtAcceptance: Double? = nil
    /// Early stop: training ends after the first epoch that finishes past
    /// this many wall seconds of the run (counted across --resume).
    public var stopAfterSeconds: Double? = nil
}
