import CairnFormats

/// Redo settings chosen at registration (`cairn init`).
package struct RedoOptions: Sendable {
    /// Directories holding one member of every online log group (default: the repository's `online/`).
    package var memberDirectories: [String] = []
    package var groups = 2
    /// Archive destinations (default: the repository's `archive/`).
    package var archiveDestinations: [String] = []
    package var minSucceed = 1
    package var logSizeBytes: UInt64 = 16 << 20
    package var archiveTimeoutSeconds: Double = 10
    package var walTargetBytes: UInt64 = 4 << 20
    package var mode: LogMode = .archivelog

    package init() {}

    package func validate() throws(EngineError) {
        guard groups >= 2 else { throw .invalidSetting(.logGroups, value: "\(groups)", problem: "at least 2 online log groups are needed (one is written while another is archived).") }
        guard groups <= 64 else { throw .invalidSetting(.logGroups, value: "\(groups)", problem: "too many (at most 64).") }
        guard minSucceed >= 1 else { throw .invalidSetting(.minSucceed, value: "\(minSucceed)", problem: "must be at least 1.") }
        let dests = max(1, archiveDestinations.count)
        guard minSucceed <= dests else {
            throw .invalidSetting(.minSucceed, value: "\(minSucceed)", problem: "exceeds the \(dests) archive destination(s); add archive destinations or lower it.")
        }
        guard logSizeBytes >= 8 << 10 else { throw .invalidSetting(.logSize, value: "\(logSizeBytes) bytes", problem: "must be at least 8K.") }
        guard archiveTimeoutSeconds > 0 else { throw .invalidSetting(.archiveTimeout, value: "\(archiveTimeoutSeconds)", problem: "must be more than 0 seconds.") }
        for name in archiveDestinations {
            if let problem = ArchiveDestinations.problem(with: name) { throw problem }
        }
        if Set(memberDirectories.map(FileSystem.resolved)).count != memberDirectories.count {
            throw .invalidSetting(.logMemberDirectory, value: "", problem: "the same directory was given twice; members of a group must be in different directories.")
        }
    }

    package func state(layout: RepositoryLayout) -> RedoState {
        var s = RedoState(memberDirectories: memberDirectories.isEmpty ? [layout.onlineLogDirectory] : memberDirectories.map(FileSystem.resolved),
                          archiveDestinations: archiveDestinations.isEmpty ? [layout.archiveDirectory]
                              : archiveDestinations.map { ArchiveDestinations.isLocal($0) ? FileSystem.resolved($0) : $0 })
        s.groups = (1...groups).map { RedoState.LogGroup(number: $0) }
        s.minSucceed = minSucceed
        s.logSizeBytes = logSizeBytes
        s.archiveTimeoutSeconds = archiveTimeoutSeconds
        s.walTargetBytes = walTargetBytes
        s.mode = mode
        return s
    }
}
