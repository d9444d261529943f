// swift-tools-version: 6.1
import PackageDescription

// Linux only: capture and backups rely on Linux interfaces (inotify, open-file-description
// locks, O_TMPFILE, renameat2, sync_file_range, /proc); `Sources/CairnCore/Platform.swift`
// stops a build anywhere else with a message saying so.
let package = Package(
    name: "Cairn",
    products: [
        .library(name: "CairnCore", targets: ["CairnCore"]),
        .executable(name: "cairn", targets: ["cairn"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CXXHash", pkgConfig: "libxxhash", providers: [.apt(["libxxhash-dev"])]),
        .target(name: "CSQLiteShim", dependencies: ["CSQLite"]),
        .target(name: "CSystemShim"),
        .target(
            name: "CairnCore",
            dependencies: [
                "CSQLite", "CSQLiteShim", "CSystemShim", "CZstd", "CXXHash",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "cairn",
            dependencies: [
                "CairnCore", "CSystemShim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The tests run the `cairn` executable: depending on it rebuilds it with them (no stale binary).
        .testTarget(name: "CairnCoreTests", dependencies: ["CairnCore", "CSQLite", "cairn"]),
    ],
    swiftLanguageModes: [.v6]
)
