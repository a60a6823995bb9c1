// swift-tools-version:6.1
// libFuzzer targets for the request parser and the connection state machine. Built by Fuzz/run.sh
// with `-sanitize=fuzzer,address -parse-as-library` applied to every module, the server's included,
// so that coverage guides the fuzzer through the parser and the core and ASan checks them.
import PackageDescription

let package = Package(
    name: "Fuzz",
    dependencies: [
        .package(name: "swift-http-server", path: ".."),
    ],
    targets: [
        .target(name: "FuzzSupport"),
        .executableTarget(
            name: "FuzzParser",
            dependencies: ["FuzzSupport", .product(name: "HTTPServerHTTP1", package: "swift-http-server")]
        ),
        .executableTarget(
            name: "FuzzConnection",
            dependencies: [
                "FuzzSupport",
                .product(name: "HTTPServerKit", package: "swift-http-server"),
                .product(name: "HTTPServerReactor", package: "swift-http-server"),
                .product(name: "HTTPServerTesting", package: "swift-http-server"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
