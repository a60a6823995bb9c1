// swift-tools-version:6.1
// The soak test: a small hello server on the release build of HTTPServerKit and a load generator
// that mixes keep-alive requests with bad requests, resets, slow clients and clients that never
// read. Driven by soak.py (see docs/reliability.md). Self-contained: it is not part of the
// Benchmarks package.
import PackageDescription

let package = Package(
    name: "Soak",
    dependencies: [
        .package(name: "swift-http-server", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "SoakServer",
            dependencies: [.product(name: "HTTPServerKit", package: "swift-http-server")]
        ),
        .executableTarget(name: "SoakClient"),
    ],
    // A test tool with global state, single-threaded: Swift 5 mode spares it the isolation ceremony.
    swiftLanguageModes: [.v5]
)
