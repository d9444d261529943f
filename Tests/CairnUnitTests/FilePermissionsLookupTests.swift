import Testing
@testable import CairnFormats

/// `FilePermissions` finds the places that hold a path through an index (an agent registers
/// thousands of places): the same answers as a scan of every place would give.
@Suite(.serialized) struct FilePermissionsLookupTests {
    static let owners = (0..<300).map { "/lookup-test/db\($0).db" }

    @Test func treesFilesAndTheDirectoriesOnTheWayKeepTheirModes() {
        defer { for o in Self.owners + ["/lookup-test/shared"] { FilePermissions.register(owner: o, source: .fixed(.ownerOnly), trees: [], files: []) } }
        for (i, owner) in Self.owners.enumerated() {
            let mode = FileMode(clamping: i % 2 == 0 ? 0o640 : 0o600)
            FilePermissions.register(owner: owner, source: .fixed(mode), trees: ["/lookup-test/r\(i)/repo", "/lookup-test/r\(i)/archive"],
                                     files: ["/lookup-test/d\(i)/.db\(i).db.cairn-control"])
        }
        // In a tree, deep in it, and the tree itself.
        #expect(FilePermissions.fileMode(for: "/lookup-test/r4/repo/logs/x.clog").bits == 0o640)
        #expect(FilePermissions.fileMode(for: "/lookup-test/r5/archive").bits == 0o600)
        // A name that only starts like the tree is not in it.
        #expect(FilePermissions.fileMode(for: "/lookup-test/r4/repository-other/x").bits == FileMode.ownerOnly.bits)
        // A file place holds the names that extend it (temporaries, locks).
        #expect(FilePermissions.fileMode(for: "/lookup-test/d8/.db8.db.cairn-control.tmp-1-2").bits == 0o640)
        #expect(FilePermissions.fileMode(for: "/lookup-test/d8/other.tmp").bits == FileMode.ownerOnly.bits)
        // A directory on the way to places gets what all of them allow; one inside a tree, the tree's.
        #expect(FilePermissions.directoryBits(for: "/lookup-test/r6") == FileMode(clamping: 0o640).directoryBits)
        #expect(FilePermissions.directoryBits(for: "/lookup-test") == FileMode(clamping: 0o600).directoryBits)
        #expect(FilePermissions.directoryBits(for: "/lookup-test/r6/repo/new") == FileMode(clamping: 0o640).directoryBits)
        // The longest place wins; two owners of the same place give what both allow.
        FilePermissions.register(owner: "/lookup-test/shared", source: .fixed(FileMode(clamping: 0o644)), trees: ["/lookup-test/r4/repo/inner", "/lookup-test/r10/repo"], files: [])
        #expect(FilePermissions.fileMode(for: "/lookup-test/r4/repo/inner/f").bits == 0o644)
        #expect(FilePermissions.fileMode(for: "/lookup-test/r10/repo/f").bits == 0o640)
        // Registering again replaces what the owner registered.
        FilePermissions.register(owner: Self.owners[4], source: .fixed(.ownerOnly), trees: [], files: [])
        #expect(FilePermissions.fileMode(for: "/lookup-test/r4/repo/logs/x.clog").bits == FileMode.ownerOnly.bits)
    }
}
