// swift-tools-version: 6.1
// The benchmark runner's own package: load generator, peers, our server in benchmark modes,
// and microbenchmarks. It depends on the root package by path.
import PackageDescription
import class Foundation.ProcessInfo

// Hummingbird takes minutes to build on this 2-core machine: opt in with BENCH_HUMMINGBIRD=1.
let withHummingbird = ProcessInfo.processInfo.environment["BENCH_HUMMINGBIRD"] == "1"

var dependencies: [Package.Dependency] = [
    .package(name: "swift-http-server", path: ".."),
    .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.1.0"),
    .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    // The metrics example and `bench-server --metrics`: here, not in the root package, so that a
    // user of the server does not build swift-prometheus (and its dependencies) to get swift-metrics.
    .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
    .package(url: "https://github.com/apple/swift-metrics", from: "2.4.0"),
]
if withHummingbird {
    dependencies.append(.package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"))
}

let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")

var targets: [Target] = [
    // Pure client-side HTTP/1.1 pieces of `bench`: response parser, request template, statistics.
    .target(
        name: "BenchClient",
        dependencies: [.product(name: "Histogram", package: "hdrhistogram-swift")]
    ),
    // The load generator, on the project's reactor.
    .executableTarget(
        name: "bench",
        dependencies: [
            "BenchClient",
            .product(name: "HTTPServerReactor", package: "swift-http-server"),
            argumentParser,
        ]
    ),
    // Our server in the benchmark modes: hello, echo, static.
    .executableTarget(
        name: "bench-server",
        dependencies: [
            .product(name: "HTTPServerKit", package: "swift-http-server"), argumentParser,
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]
    ),
    // Example: the server's swift-metrics served at /metrics by swift-prometheus.
    .executableTarget(
        name: "metrics-example",
        dependencies: [
            .product(name: "HTTPServerKit", package: "swift-http-server"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
        ]
    ),
    // Peer: SwiftNIO NIOHTTP1 hello server on one event-loop thread.
    .executableTarget(
        name: "nio-hello",
        dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            argumentParser,
        ]
    ),
    // Microbenchmarks (ordo-one/benchmark): `swift package benchmark`.
    .executableTarget(
        name: "HTTP1Parser",
        dependencies: [
            .product(name: "Benchmark", package: "benchmark"),
            .product(name: "HTTPServerHTTP1", package: "swift-http-server"),
        ],
        path: "Benchmarks/HTTP1Parser",
        plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    ),
    .executableTarget(
        name: "HelloAllocations",
        dependencies: [
            .product(name: "Benchmark", package: "benchmark"),
            .product(name: "HTTPServerKit", package: "swift-http-server"),
            .product(name: "HTTPServerReactor", package: "swift-http-server"),
            .product(name: "HTTPServerTesting", package: "swift-http-server"),
        ],
        path: "Benchmarks/HelloAllocations",
        plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    ),
    .testTarget(name: "BenchClientTests", dependencies: ["BenchClient"]),
]
if withHummingbird {
    targets.append(.executableTarget(
        name: "hummingbird-hello",
        dependencies: [
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "NIOPosix", package: "swift-nio"),
            argumentParser,
        ]
    ))
}

let package = Package(
    name: "swift-http-server-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: dependencies,
    targets: targets,
    swiftLanguageModes: [.v6]
)
