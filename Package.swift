// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "GomalizingFlow",
    products: [
        // The physics core: lattice, action, priors, flows and their model
        // files, samplers, training loop and analysis; no TOML, no result folders.
        .library(name: "GomalizingFlow", targets: ["GomalizingFlow"]),
        // The run layer: configs, result folders, checkpoints, provenance, sweeps, reports, bench.
        .library(name: "GomalizingRun", targets: ["GomalizingRun"]),
        .executable(name: "gomalizing", targets: ["gomalizing"]),
    ],
    // Opt-in: `swift build --traits MPI` links the system MPI (Open MPI from
    // Debian's libopenmpi-dev) for data-parallel training and sampling.
    traits: [
        .trait(name: "MPI", description: "Data-parallel training and sampling over MPI (needs libopenmpi-dev)."),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        // A lock-free flag that a signal handler may set (StopRequest).
        .package(url: "https://github.com/apple/swift-atomics", from: "1.2.0"),
        // `swift package generate-documentation`: the DocC catalogs of the two libraries (GomalizingFlow.docc, GomalizingRun.docc).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CMPI",
            pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev"])]
        ),
        // Convolution kernels for AVX2 with FMA, chosen at run time (KernelPath).
        .target(name: "CKernels"),
        .target(
            name: "GomalizingFlow",
            dependencies: [
                "CKernels",
                .product(name: "Numerics", package: "swift-numerics"),
                .product(name: "Atomics", package: "swift-atomics"),
                .target(name: "CMPI", condition: .when(traits: ["MPI"])),
            ]
        ),
        .target(
            name: "GomalizingRun",
            dependencies: [
                "GomalizingFlow",
                .product(name: "Numerics", package: "swift-numerics"),
                "TOMLKit",
            ],
            plugins: ["GitProvenance"]
        ),
        // Records the git commit (and whether the tree was modified) that the
        // run layer is built from, for the provenance of every result.
        .plugin(name: "GitProvenance", capability: .buildTool()),
        .executableTarget(
            name: "gomalizing",
            dependencies: [
                "GomalizingFlow",
                "GomalizingRun",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "GomalizingFlowTests",
            dependencies: ["GomalizingFlow", "GomalizingRun", "CKernels"]
        ),
    ],
    swiftLanguageModes: [.v5]
)
