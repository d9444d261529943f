import Testing
import CairnTestSupport

extension TimeTravelFixture {
    /// Tables of every kind: INTEGER PRIMARY KEY with overflowing text and blobs, an index,
    /// WITHOUT ROWID with a two-column key, generated columns, ALTER TABLE ADD COLUMN, a quoted name.
    static let schema = #"""
CREATE TABLE plain(id INTEGER PRIMARY KEY, name TEXT, score REAL, data BLOB, note);
CREATE INDEX plain_name ON plain(name);
CREATE TABLE wr(region TEXT, code INTEGER, label TEXT, payload BLOB, PRIMARY KEY(code, region)) WITHOUT ROWID;
CREATE TABLE gen(a INTEGER, b TEXT, c AS (a * 2) VIRTUAL, d AS (b || '!') STORED);
CREATE TABLE altered(x INTEGER PRIMARY KEY, y);
CREATE TABLE "odd ""name"""(k PRIMARY KEY, v);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400)
INSERT INTO plain(id, name, score, data, note)
SELECT i, 'name-' || i || CASE WHEN i % 17 = 0 THEN hex(zeroblob(1500 + i)) ELSE '' END, i * 1.5 - 100,
       CASE WHEN i % 23 = 0 THEN randomblob(4000 + i) ELSE randomblob(i % 40) END,
       CASE i % 6 WHEN 0 THEN NULL WHEN 1 THEN i WHEN 2 THEN 'é€𝄞' || i WHEN 3 THEN -i * 100000000000 WHEN 4 THEN i % 2 ELSE 0.1 * i END
FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 250)
INSERT INTO wr SELECT CASE i % 3 WHEN 0 THEN 'north' WHEN 1 THEN 'south' ELSE 'ȝest-' || hex(zeroblob(i % 7 * 40)) END, i / 3, 'label ' || i, CASE WHEN i % 31 = 0 THEN randomblob(3000) ELSE x'00ff' END FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
INSERT INTO gen(a, b) SELECT i, 'g' || i FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
INSERT INTO altered(x, y) SELECT i * 7, 'y' || i FROM n;
ALTER TABLE altered ADD COLUMN z DEFAULT 'zz';
ALTER TABLE altered ADD COLUMN w INTEGER DEFAULT -7;
INSERT INTO altered(x, y, z, w) VALUES (1000, 'new', 'given', 5);
INSERT INTO "odd ""name""" VALUES (1, 'one'), ('two', 2), (x'03', 3.5);
"""#

    /// Deletes that merge pages, updates (one changing only the overflowing end of a text, so
    /// only overflow pages change), inserts that split pages, a dropped and a created table, a
    /// column added.
    static let changes = #"""
DELETE FROM plain WHERE id BETWEEN 40 AND 160;
UPDATE plain SET score = score * 2, note = 'updated' WHERE id % 10 = 3;
UPDATE plain SET name = substr(name, 1, length(name) - 5) || 'ZZZZZ' WHERE id % 17 = 0 AND id > 160;
UPDATE plain SET data = randomblob(6000) WHERE id = 184;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 150)
INSERT INTO plain(id, name, score, data, note) SELECT 1000 + i, 'fresh ' || i, i, randomblob(i * 3), CASE WHEN i % 9 = 0 THEN hex(zeroblob(2000)) END FROM n;
INSERT INTO plain(id, name) VALUES (45, 'back again');
DELETE FROM wr WHERE code BETWEEN 10 AND 30;
UPDATE wr SET label = label || ' (moved)', payload = randomblob(100) WHERE code % 5 = 0;
INSERT INTO wr VALUES ('east', 500, 'new east', randomblob(2500)), ('west', 20, 'replaced', NULL);
DROP TABLE gen;
CREATE TABLE fresh(a PRIMARY KEY, b) WITHOUT ROWID;
INSERT INTO fresh VALUES ('k1', 1), ('k2', hex(zeroblob(3000)));
ALTER TABLE altered ADD COLUMN v DEFAULT 3.25;
UPDATE altered SET y = 'changed' WHERE x % 3 = 0;
DELETE FROM altered WHERE x > 600;
"""#

    /// A database made with `config` and `schema` in `dir`.
    static func build(_ config: Config, in dir: TempDir, name: String = "db.sqlite") -> String {
        let db = dir.file(name)
        run(db, config.setup + schema)
        return db
    }
}
