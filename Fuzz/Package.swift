// swift-tools-version:6.1
// libFuzzer targets for the request parser and the connection state machine, and a differential
// target that compares the parser's framing with llhttp's (strict mode). Built by Fuzz/run.sh
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
        // llhttp's C sources are copied into Sources/CLLHTTP/llhttp/ by run.sh (not committed).
        .target(
            name: "CLLHTTP",
            exclude: ["llhttp/llhttp.h"],
            cSettings: [
                .define("LLHTTP_STRICT_MODE", to: "1"),
                .headerSearchPath("llhttp"),
                // Coverage of llhttp guides the fuzzer to where the two parsers branch.
                .unsafeFlags(["-fsanitize=fuzzer-no-link,address", "-O2", "-w"]),
            ]
        ),
        .executableTarget(
            name: "FuzzDifferential",
            dependencies: ["FuzzSupport", "CLLHTTP", .product(name: "HTTPServerHTTP1", package: "swift-http-server")]
        ),
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
