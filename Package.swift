// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "swift-http-server",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "HTTPServerKit", targets: ["HTTPServerKit"]),
        .library(name: "HTTPServerTesting", targets: ["HTTPServerTesting"]),
        .library(name: "HTTP1", targets: ["HTTP1"]),
        .library(name: "Reactor", targets: ["Reactor"]),
        .library(name: "HTTPServerTLS", targets: ["HTTPServerTLS"]),
        .executable(name: "http-server", targets: ["http-server"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // Header-only: exposes epoll, eventfd, timerfd, signalfd and sendfile from libc6-dev.
        .systemLibrary(name: "CReactor", path: "Sources/CReactor"),
        .target(name: "Reactor", dependencies: ["CReactor"]),
        .target(name: "HTTP1"),
        // The system's OpenSSL 3 (libssl-dev), with a header of functions for OpenSSL's macros.
        .systemLibrary(name: "CHTTPServerOpenSSL", path: "Sources/CHTTPServerOpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"]), .brew(["openssl@3"])]),
        .target(name: "HTTPServerTLS", dependencies: ["Reactor", "CHTTPServerOpenSSL"]),
        .target(name: "HTTPServerKit", dependencies: ["Reactor", "HTTP1", "HTTPServerTLS"]),
        .target(name: "HTTPServerTesting", dependencies: ["HTTPServerKit", "Reactor", "HTTP1"]),
        .executableTarget(
            name: "http-server",
            dependencies: [
                "HTTPServerKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "ReactorTests", dependencies: ["Reactor"]),
        .testTarget(name: "HTTPServerTestingTests", dependencies: ["HTTPServerTesting", "HTTPServerKit"]),
        .testTarget(name: "HTTP1Tests", dependencies: ["HTTP1"]),
        .testTarget(
            name: "HTTPServerTLSTests",
            dependencies: ["HTTPServerTLS", "CHTTPServerOpenSSL", "Reactor", "HTTPServerTesting"]
        ),
        .testTarget(
            name: "HTTPServerKitTests",
            dependencies: ["HTTPServerKit", "HTTPServerTesting", "Reactor", "HTTP1"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
