// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "GomalizingFlow",
    products: [
        .library(name: "GomalizingFlow", targets: ["GomalizingFlow"]),
        .executable(name: "gomalizing", targets: ["gomalizing"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        .target(
            name: "GomalizingFlow",
            dependencies: [
                .product(name: "Numerics", package: "swift-numerics"),
                "TOMLKit",
            ],
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        .executableTarget(
            name: "gomalizing",
            dependencies: [
                "GomalizingFlow",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "GomalizingFlowTests",
            dependencies: ["GomalizingFlow"]
        ),
    ],
    swiftLanguageModes: [.v5]
)
