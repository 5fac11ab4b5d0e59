// swift-tools-version:6.1
// A package that uses GomalizingFlow as a library, the way another project would:
// through a versioned URL dependency. `Examples/run-example.sh` makes a tagged
// git copy of this repository and points GOMALIZING_FLOW_URL at it; without the
// variable the dependency is this repository itself (it needs a tag >= 0.9.0).
import Foundation
import PackageDescription

let repositoryRoot = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().deletingLastPathComponent()
let gomalizingFlow = URL(string: Context.environment["GOMALIZING_FLOW_URL"] ?? "file://" + repositoryRoot.path)!
// SwiftPM names a URL dependency after the last component of its path.
let identity = gomalizingFlow.lastPathComponent

// Examples/run-example.sh writes Sources/GettingStarted/ from the DocC article's snippets.
let gettingStarted = FileManager.default.fileExists(atPath: Context.packageDirectory + "/Sources/GettingStarted")

let package = Package(
    name: "SampleFromModel",
    dependencies: [
        .package(url: gomalizingFlow.absoluteString, from: "0.9.0"),
    ],
    targets: [
        .executableTarget(
            name: "SampleFromModel",
            dependencies: [.product(name: "GomalizingFlow", package: identity)]
        ),
    ] + (gettingStarted ? [
        .executableTarget(
            name: "GettingStarted",
            dependencies: [.product(name: "GomalizingFlow", package: identity)]
        ),
    ] : [])
)
