// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "stacklab",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "stacklab", targets: ["stacklab"]),
        .library(name: "StackLab", targets: ["StackLab"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
    ],
    targets: [
        // libedit, reached through pkg-config (Debian: libedit-dev, Homebrew: libedit).
        .systemLibrary(
            name: "CLibEdit",
            pkgConfig: "libedit",
            providers: [.apt(["libedit-dev"]), .brew(["libedit"])]
        ),
        // The MySQL-like store: SQL engine, binlog, replication, wire protocol (server and client).
        .target(
            name: "StackLabStore",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Atomics", package: "swift-atomics"),
            ]
        ),
        // The miniature: lab, config subsets, balancer, web server, app server, traffic. No terminal code.
        .target(
            name: "StackLab",
            dependencies: [
                "StackLabStore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            resources: [.copy("Resources/labs")],
            // Every request crosses this code several times: no dynamic exclusivity checks in release builds.
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
        ),
        // Guided lessons: the lesson format and its checks, learner progress, the asciicast recorder. No terminal code;
        // the shell's lesson verbs (StackLabShell) drive it.
        .target(
            name: "StackLabCourse",
            dependencies: [
                "StackLab",
                "StackLabStore",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            resources: [.copy("Resources/lessons")]
        ),
        // The shell: commands, parsing, completion, rendering. Talks to a LineEditor protocol, not to a terminal.
        .target(
            name: "StackLabShell",
            dependencies: [
                "StackLab",
                "StackLabCourse",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "stacklab",
            dependencies: [
                "StackLab",
                "StackLabShell",
                "CLibEdit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The release-build benchmark of the stack: wrk against the lab, start time, memory.
        .executableTarget(
            name: "stacklab-bench",
            dependencies: ["StackLab", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .testTarget(
            name: "StackLabStoreTests",
            dependencies: [
                "StackLabStore",
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "StackLabTests",
            dependencies: [
                "StackLab",
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "StackLabCourseTests",
            dependencies: ["StackLabCourse", "StackLabShell", "StackLab", "StackLabStore"]
        ),
        .testTarget(
            name: "StackLabShellTests",
            dependencies: ["StackLabShell", "StackLab"]
        ),
    ]
)
