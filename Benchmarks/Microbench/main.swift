import Foundation

// cairn-microbench BENCH: prints throughput figures of one hot path (release builds only mean
// anything: scripts/bench/*.sh build it so).
let usage = "usage: cairn-microbench encryption [MiB]"
let arguments = Array(CommandLine.arguments.dropFirst())
do {
    switch arguments.first {
    case "encryption":
        try EncryptionBench(mebibytes: arguments.dropFirst().first.flatMap { Int($0) } ?? 256).run()
    default:
        print(usage)
        exit(64)
    }
} catch {
    print("cairn-microbench: \(error)")
    exit(1)
}
