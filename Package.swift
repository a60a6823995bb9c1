// swift-tools-version:6.1
import PackageDescription

// Modules carry the project's prefix: Swift module names are global in a user's build graph.
// Dependencies point one way: http-server → CGI → static files → core → {HTTP/1 parser, reactor}.
// `HTTPServerKit` is the umbrella a handler author imports: the core, static files and CGI.
let package = Package(
    name: "swift-http-server",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "HTTPServerKit", targets: ["HTTPServerKit"]),
        .library(name: "HTTPServerCore", targets: ["HTTPServerCore"]),
        .library(name: "HTTPServerStaticFiles", targets: ["HTTPServerStaticFiles"]),
        .library(name: "HTTPServerCGI", targets: ["HTTPServerCGI"]),
        .library(name: "HTTPServerTesting", targets: ["HTTPServerTesting"]),
        .library(name: "HTTPServerHTTP1", targets: ["HTTPServerHTTP1"]),
        .library(name: "HTTPServerReactor", targets: ["HTTPServerReactor"]),
        .library(name: "HTTPServerTLS", targets: ["HTTPServerTLS"]),
        .executable(name: "http-server", targets: ["http-server"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.4.0"),
        // `swift package generate-documentation` (the DocC catalogs in Sources/<Module>/<Module>.docc).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.0.0"),
    ],
    targets: [
        // Header-only: exposes epoll, eventfd, timerfd, signalfd and sendfile from libc6-dev.
        .systemLibrary(name: "CHTTPServerReactor", path: "Sources/CHTTPServerReactor"),
        .target(name: "HTTPServerReactor", dependencies: ["CHTTPServerReactor"]),
        .target(name: "HTTPServerHTTP1"),
        // The system's OpenSSL 3 (libssl-dev), with a header of functions for OpenSSL's macros.
        .systemLibrary(name: "CHTTPServerOpenSSL", path: "Sources/CHTTPServerOpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"]), .brew(["openssl@3"])]),
        .target(name: "HTTPServerTLS", dependencies: ["HTTPServerReactor", "CHTTPServerOpenSSL"]),
        .target(
            name: "HTTPServerCore",
            dependencies: [
                "HTTPServerReactor", "HTTPServerHTTP1", "HTTPServerTLS",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        .target(name: "HTTPServerStaticFiles", dependencies: ["HTTPServerCore", "HTTPServerReactor", "HTTPServerHTTP1"]),
        .target(
            name: "HTTPServerCGI",
            dependencies: ["HTTPServerStaticFiles", "HTTPServerCore", "HTTPServerReactor", "HTTPServerHTTP1"]
        ),
        .target(name: "HTTPServerKit", dependencies: ["HTTPServerCore", "HTTPServerStaticFiles", "HTTPServerCGI"]),
        .target(name: "HTTPServerTesting", dependencies: ["HTTPServerKit", "HTTPServerReactor", "HTTPServerHTTP1"]),
        .executableTarget(
            name: "http-server",
            dependencies: [
                "HTTPServerKit",
                "HTTPServerReactor",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "HTTPServerReactorTests", dependencies: ["HTTPServerReactor"]),
        .testTarget(name: "HTTPServerHTTP1Tests", dependencies: ["HTTPServerHTTP1"]),
        .testTarget(
            name: "HTTPServerTLSTests",
            dependencies: ["HTTPServerTLS", "CHTTPServerOpenSSL", "HTTPServerReactor", "HTTPServerTesting"]
        ),
        // Core, static files, CGI and the command line, in folders that mirror Sources/.
        .testTarget(
            name: "HTTPServerKitTests",
            dependencies: [
                "HTTPServerKit", "HTTPServerCore", "HTTPServerStaticFiles", "HTTPServerCGI",
                "HTTPServerTesting", "HTTPServerReactor", "HTTPServerHTTP1", "HTTPServerTLS",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        .testTarget(name: "HTTPServerTestingTests", dependencies: ["HTTPServerTesting", "HTTPServerKit"]),
    ],
    swiftLanguageModes: [.v6]
)
