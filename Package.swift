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
        // TLS at the balancer and the web servers, and the lab's own certificate authority (the [security] issue).
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "5.0.1"),
    ],
    targets: [
        // libedit, reached through pkg-config (Debian: libedit-dev, Homebrew: libedit).
        .systemLibrary(
            name: "CLibEdit",
            pkgConfig: "libedit",
            providers: [.apt(["libedit-dev"]), .brew(["libedit"])]
        ),
        // SQLite, the store's storage and query engine, reached through pkg-config (Debian: libsqlite3-dev, with
        // the session extension and the preupdate hook; Homebrew: sqlite).
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"]), .brew(["sqlite"])]
        ),
        // The MySQL-like store: SQL engine, binlog, replication, wire protocol (server and client).
        // The labs, lessons and exercises built into the binary (EmbedResources), written to a folder when first read.
        .target(name: "StackLabResources"),
        .plugin(name: "EmbedResources", capability: .buildTool(), dependencies: ["embed-resources"]),
        .executableTarget(name: "embed-resources"),
        .target(
            name: "StackLabStore",
            dependencies: [
                "CSQLite",
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
                "StackLabResources",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Yams", package: "Yams"),
            ],
            exclude: ["Resources"],  // built in by EmbedResources
            // Every request crosses this code several times: no dynamic exclusivity checks in release builds.
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))],
            plugins: ["EmbedResources"]
        ),
        // Graded exercises: the exercise folders (as resources), the grader that boots a learner's lab and breaks it,
        // hints and progress.
        .target(
            name: "StackLabExercises",
            dependencies: [
                "StackLab", "StackLabStore", "StackLabResources",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            exclude: ["Resources"],  // a link to the top-level exercises/, built in by EmbedResources
            plugins: ["EmbedResources"]
        ),
        // Guided lessons: the lesson format and its checks, learner progress, the asciicast recorder. No terminal code;
        // the shell's lesson verbs (StackLabShell) drive it.
        .target(
            name: "StackLabCourse",
            dependencies: [
                "StackLab",
                "StackLabStore",
                "StackLabResources",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            exclude: ["Resources"],  // a link to the top-level lessons/, built in by EmbedResources
            plugins: ["EmbedResources"]
        ),
        // The shell: commands, parsing, completion, rendering. Talks to a LineEditor protocol, not to a terminal.
        .target(
            name: "StackLabShell",
            dependencies: [
                "StackLab",
                "StackLabExercises",
                "StackLabCourse",
                "StackLabStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "stacklab",
            dependencies: [
                "StackLab",
                "StackLabShell",
                "StackLabExercises",
                "CLibEdit",
                "StackLabResources",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            exclude: ["Resources"],  // a link to the top-level VERSION, built in by EmbedResources
            plugins: ["EmbedResources"]
        ),
        // The release-build benchmark of the stack: wrk against the lab, start time, memory.
        .executableTarget(
            name: "stacklab-bench",
            dependencies: ["StackLab", "StackLabStore", .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "NIOConcurrencyHelpers", package: "swift-nio")]
        ),
        // What every test target shares: waiting for events, real programs run as children, the real binary in tmux,
        // raw client connections.
        .target(
            name: "StackLabTestSupport",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "Tests/StackLabTestSupport"
        ),
        .testTarget(
            name: "StackLabResourcesTests",
            dependencies: ["StackLabResources"],
            exclude: ["Resources"],  // fixtures, built in by EmbedResources
            plugins: ["EmbedResources"]
        ),
        .testTarget(
            name: "StackLabTestSupportTests",
            dependencies: ["StackLabTestSupport"]
        ),
        .testTarget(
            name: "StackLabStoreTests",
            dependencies: [
                "StackLabTestSupport",
                "StackLabStore",
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "StackLabTests",
            dependencies: [
                "StackLabTestSupport",
                "StackLab",
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "StackLabExercisesTests",
            dependencies: ["StackLabExercises", "StackLab", "StackLabStore", "StackLabShell", "StackLabTestSupport"],
            exclude: ["Solutions"]
        ),
        .testTarget(
            name: "StackLabCourseTests",
            dependencies: ["StackLabCourse", "StackLabShell", "StackLab", "StackLabStore", "StackLabTestSupport"]
        ),
        // Random and mutated bytes at every socket, config file and shell line of a running lab (`make fuzz` for long runs).
        .testTarget(
            name: "StackLabFuzzTests",
            dependencies: [
                "StackLabTestSupport", "StackLab", "StackLabStore", "StackLabShell",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "StackLabShellTests",
            dependencies: ["StackLabShell", "StackLab", "StackLabTestSupport"]
        ),
    ]
)
