import Foundation
import CairnFormats

/// The b-trees of the schema as of an SCN (tables with rows and indexes, by root page), read
/// from `sqlite_schema`'s rows as of then.
enum SchemaRoots {
    static func read(_ pages: PointInTimePages, at scn: UInt64) throws(EngineError) -> [BTreeOwnership.Tree] {
        let view = try DatabasePages(name: "the database as of SCN \(scn)", pageSize: pages.pageSize, pageCount: pages.pageCount(asOf: scn)) { (p: UInt32, into: UnsafeMutableRawPointer) throws(EngineError) in
            try pages.read(p, asOf: scn, into: into)
        }
        return try SchemaReader.entries(view).compactMap { e in
            guard e.rootPage > 0, e.type == "table" || e.type == "index" else { return nil }
            return BTreeOwnership.Tree(name: e.name, table: e.tableName, isIndex: e.type == "index", root: e.rootPage)
        }
    }
}
