import CairnFormats

/// Every row of one table of one version of a database, read from its b-tree from the root: the
/// table b-tree of a rowid table, the primary key's index b-tree of a WITHOUT ROWID table (whose
/// entries are the rows). Rows come in key order.
package struct TableRows {
    package let source: DatabasePages
    package let layout: TableLayout

    package init(source: DatabasePages, layout: TableLayout) {
        self.source = source
        self.layout = layout
    }

    /// Hands every row to `body`.
    package func forEach(_ body: (TableRow) throws(EngineError) -> Void) throws(EngineError) {
        let layout = layout
        try BTreeWalker(source: source).walk(root: layout.rootPage, what: "table \(layout.name)") { (rowid, record) throws(EngineError) in
            try body(layout.row(rowid: rowid, record: record))
        }
    }

    /// Every row, in key order.
    package func all() throws(EngineError) -> [TableRow] {
        var rows: [TableRow] = []
        try forEach { rows.append($0) }
        return rows
    }
}
