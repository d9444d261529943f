import Foundation
import CairnFormats

/// The b-trees of the schema as of an SCN (tables with rows and indexes, by root page), read
/// from `sqlite_schema`'s rows as of then.
enum SchemaRoots {
    static func read(_ pages: PointInTimePages, at scn: UInt64) throws(EngineError) -> [BTreeOwnership.Tree] {
        return try SchemaReader.entries(try pages.view(asOf: scn)).compactMap { e in
            guard e.rootPage > 0, e.type == "table" || e.type == "index" else { return nil }
            return BTreeOwnership.Tree(name: e.name, table: e.tableName, isIndex: e.type == "index", root: e.rootPage)
        }
    }
}
