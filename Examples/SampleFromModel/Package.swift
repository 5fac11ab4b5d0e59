// swift-tools-version:6.1
// A package that uses GomalizingFlow as a library, the way another project would:
// through a versioned URL dependency. `Examples/run-example.sh` makes a tagged
// git copy of this repository and points GOMALIZING_FLOW_URL at it; without the
// variable the dependency is this repository itself, which then needs a tag
// (0.10.0 or later, below 1.0.0: 0.10.0 split the core from the run layer).
import Foundation
import PackageDescription

let environment = Context.environment
let repositoryRoot = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().deletingLastPathComponent()
let gomalizingFlow = environment["GOMALIZING_FLOW_URL"].flatMap { URL(string: $0) } ?? repositoryRoot
// The lowest version accepted; run-example.sh passes the library's own.
let version = Version(environment["GOMALIZING_FLOW_VERSION"] ?? "") ?? "0.10.0"
// SwiftPM names a URL dependency after the last component of its path, without ".git".
let identity = gomalizingFlow.deletingPathExtension().lastPathComponent

// Examples/run-example.sh writes Sources/GettingStarted/ from the DocC article's snippets.
let gettingStarted = FileManager.default.fileExists(atPath: Context.packageDirectory + "/Sources/GettingStarted")

let package = Package(
    name: "SampleFromModel",
    dependencies: [
        .package(url: gomalizingFlow.absoluteString, from: version),
    ],
    targets: [
        .executableTarget(
            name: "SampleFromModel",
            dependencies: [.product(name: "GomalizingFlow", package: identity)]
        ),
    ] + (gettingStarted ? [
        .executableTarget(
            name: "GettingStarted",
            // The article drives the run layer (configs, Trainer, result folders) too.
            dependencies: [.product(name: "GomalizingFlow", package: identity),
                           .product(name: "GomalizingRun", package: identity)]
        ),
    ] : [])
)
