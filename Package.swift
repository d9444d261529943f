// swift-tools-version: 6.1
import PackageDescription

// Linux only: capture and backups rely on Linux interfaces (inotify, open-file-description
// locks, O_TMPFILE, renameat2, sync_file_range, /proc); `Sources/CairnFormats/Platform.swift`
// stops a build anywhere else with a message saying so.
let package = Package(
    name: "Cairn",
    products: [
        .library(name: "Cairn", targets: ["Cairn"]),
        .library(name: "CairnGRDB", targets: ["CairnGRDB"]),
        .executable(name: "cairn", targets: ["CairnCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CXXHash", pkgConfig: "libxxhash", providers: [.apt(["libxxhash-dev"])]),
        .target(name: "CSQLiteShim", dependencies: ["CSQLite"]),
        .target(name: "CSystemShim"),
        // XOR of page images (changes stored in redo logs), fast even in debug builds.
        .target(name: "CPageDelta"),
        // The layers, each depending only on the ones above it in this list:
        // formats and storage (file formats, checksums, compression, positional I/O; no SQLite, no control file)
        .target(
            name: "CairnFormats",
            dependencies: ["CSystemShim", "CPageDelta", "CZstd", "CXXHash", .product(name: "Logging", package: "swift-log"),
                           .product(name: "Crypto", package: "swift-crypto")],
            // Storage faults can be injected in debug builds only (the tests'); never in a release.
            swiftSettings: [.define("CAIRN_FAULT_INJECTION", .when(configuration: .debug))]
        ),
        // the model: the control file and its transactions, records, lineage, policies and the pure planners
        .target(name: "CairnCatalog", dependencies: ["CairnFormats", .product(name: "Logging", package: "swift-log")]),
        // S3-compatible object storage: SigV4 signing, one shared HTTP client, retries, multipart, and the
        // s3:// archive destination (no SQLite, no catalog)
        .target(
            name: "CairnObjectStore",
            dependencies: ["CairnFormats", .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "Crypto", package: "swift-crypto"),
                           .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "Logging", package: "swift-log")]
        ),
        // the engines: access to the live database and its WAL, capture, backup, recovery, retention
        .target(
            name: "CairnEngines",
            dependencies: ["CairnFormats", "CairnCatalog", "CSQLite", "CSQLiteShim", "CSystemShim", "CZstd", "CXXHash",
                           .product(name: "Logging", package: "swift-log")]
        ),
        // the public API an application embeds
        .target(
            name: "Cairn",
            dependencies: ["CairnEngines", "CairnCatalog", "CairnFormats", "CairnObjectStore", .product(name: "Logging", package: "swift-log"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]
        ),
        // the agent: many databases from one configuration file, schedules, metrics, health, status page
        .target(
            name: "CairnAgent",
            dependencies: ["Cairn", "CairnEngines", "CairnCatalog", "CairnFormats", "CairnObjectStore", "CSystemShim",
                           .product(name: "Yams", package: "Yams"), .product(name: "Logging", package: "swift-log"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                           .product(name: "Hummingbird", package: "hummingbird"), .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "Metrics", package: "swift-metrics"),
                           .product(name: "Prometheus", package: "swift-prometheus")]
        ),
        // in-process protection of a GRDB DatabasePool
        .target(
            name: "CairnGRDB",
            dependencies: ["Cairn", "CairnEngines", "CairnCatalog", "CairnFormats", "CSQLite",
                           .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log")]
        ),
        // a small GRDB application protected by CairnGRDB (run by the tests)
        .executableTarget(
            name: "cairn-grdb-example",
            dependencies: ["CairnGRDB", "Cairn", .product(name: "GRDB", package: "GRDB.swift")],
            path: "Examples/GRDBApp"
        ),
        // Microbenchmarks of the layers' hot paths, built in release by scripts/bench/*.sh
        // (`swift build -c release --product cairn-microbench`); they print and assert nothing.
        .executableTarget(
            name: "cairn-microbench",
            dependencies: ["CairnFormats", .product(name: "Crypto", package: "swift-crypto")],
            path: "Benchmarks/Microbench"
        ),
        // the command line: parses and prints
        .executableTarget(
            name: "CairnCLI",
            dependencies: ["CairnAgent", 
                "Cairn", "CairnEngines", "CairnCatalog", "CairnFormats", "CairnObjectStore", "CSystemShim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Tests, by kind. Unit: pure functions and formats, in process, no other process runs.
        .testTarget(name: "CairnUnitTests", dependencies: ["CairnEngines", "CairnCatalog", "CairnFormats", "CairnObjectStore", "CSQLite", "CairnTestSupport", "CairnAgent"]),
        // What the integration and stress tests share (scratch directories, the ledger
        // database, running the `cairn` executable and other processes, an S3 server on loopback).
        .target(
            name: "CairnTestSupport",
            dependencies: ["CairnEngines", "CairnCatalog", "CairnFormats", "CairnObjectStore", "CairnAgent", .product(name: "Logging", package: "swift-log"),
                           .product(name: "AsyncHTTPClient", package: "async-http-client")],
            path: "Tests/CairnTestSupport"
        ),
        // Integration: real databases written by other processes, the `cairn` executable
        // (a dependency, so it is rebuilt with them: never a stale binary), the GRDB example.
        .testTarget(
            name: "CairnIntegrationTests",
            dependencies: ["Cairn", "CairnGRDB", "CairnEngines", "CairnCatalog", "CairnFormats", "CairnObjectStore", "CSQLite", "CairnCLI",
                           "cairn-grdb-example", "CairnTestSupport", "CairnAgent",
                           .product(name: "GRDB", package: "GRDB.swift"), .product(name: "AsyncHTTPClient", package: "async-http-client"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]
        ),
        // Stress: processes killed at random instants, random corruption. Quick in CI;
        // CAIRN_CRASH_TRIALS / CAIRN_CORRUPTION_TRIALS make them as long as wanted.
        .testTarget(
            name: "CairnStressTests",
            dependencies: ["CairnEngines", "CairnCatalog", "CairnFormats", "CSQLite", "CairnCLI", "CairnTestSupport"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
