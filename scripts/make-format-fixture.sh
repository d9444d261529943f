#!/usr/bin/env bash
# Makes Tests/Fixtures/<name>.tar.gz: a database, its repository and the SQL that made its
# history, written by an earlier release of Cairn, for the tests that read old formats.
# Control files name absolute paths, so the fixture is made in, and must be unpacked to,
# /tmp/cairn-fixture-<name>.
#   scripts/make-format-fixture.sh OLD_CAIRN_BINARY NAME
# The v1-logs fixture was made with the release before compact logs (commit be47ffe):
#   git worktree add /tmp/old be47ffe && swift build -c release --product cairn --package-path /tmp/old
#   scripts/make-format-fixture.sh /tmp/old/.build/release/cairn v1-logs
set -euo pipefail
old=$1 name=$2
out="$(cd "$(dirname "$0")/.." && pwd)/Tests/Fixtures/$name.tar.gz"
work=/tmp/cairn-fixture-$name
rm -rf "$work"
trap 'rm -rf "$work"' EXIT
mkdir "$work" && cd "$work"
sqlite3 -batch app.db <<'SQL'
PRAGMA journal_mode=WAL;
CREATE TABLE accounts(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);
CREATE TABLE transfers(id INTEGER PRIMARY KEY, src INT, dst INT, amount INT, note TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 50) INSERT INTO accounts SELECT i, 1000 FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 300)
  INSERT INTO transfers SELECT i, i % 50 + 1, 1, 0, printf('filler %d %s', i, hex(zeroblob(40))) FROM n;
SQL
cp app.db base.db
python3 - <<'PY' > statements.sql
x = 12345
def nxt(n):
    global x
    x = (x * 6364136223846793005 + 1442695040888963407) % 2**64
    return (x >> 33) % n
for i in range(60):
    a, b, amt = nxt(50) + 1, nxt(50) + 1, nxt(50) + 1
    print(f"BEGIN IMMEDIATE; UPDATE accounts SET balance=balance-{amt} WHERE id={a}; "
          f"UPDATE accounts SET balance=balance+{amt} WHERE id={b}; "
          f"INSERT INTO transfers(src,dst,amount,note) VALUES({a},{b},{amt},'old t{i} {'y' * nxt(200)}'); COMMIT;")
PY
"$old" init app.db --log-size 64K >/dev/null
"$old" backup app.db >/dev/null
"$old" archive app.db --follow 2> follow.log &
follow=$!
until grep -q capturing follow.log; do sleep 0.1; done
sqlite3 -batch app.db < statements.sql
kill -INT $follow
wait $follow
rm -f follow.log app.db-shm
tar czf "$out" .
echo "$out: $(du -h "$out" | cut -f1)"
