#!/usr/bin/env python3
"""Remote repositories in object storage (issue 12): Cairn's upload of a backup to an S3 bucket,
and its restore from the bucket, against awscli moving the same bytes to and from the same
loopback server in the same run.

    swift build -c release --product cairn --scratch-path .build-bench
    python3 scripts/bench/remote.py --cairn .build-bench/release/cairn --db /work/rbench/db256.db \\
        --runs 5 --out /tmp/remote-bench.md

Starts its own S3 server on loopback (`moto_server`, signatures not checked; `--server minio`
starts MinIO instead, untested as MinIO is not installed here), creates a bucket, and creates the database when
--db does not exist (--mib MiB of rows mixing random blobs with repetitive text, so the
compressed backup stays large). Then, per run, the cases in alternating order:

  A  upload. Cairn: `cairn init DB --remote s3://BUCKET/cairn-N` and a level-0 `cairn backup DB`
     while the endpoint points at a closed port (the backup is taken locally, the copy to the
     remote fails at once), then, timed, `cairn configure DB remote sync` with the real
     endpoint: it uploads the repository identity, the backup's pieces and manifest (each
     checked by HEAD, the folder recounted by a listing) and the catalog copy, all that
     `cairn backup` would have sent. Baseline: `aws s3 cp --recursive` of the backup's folder
     REPO/backups/ID/ (the same piece and manifest bytes) to another prefix.
  B  restore from the bucket. Cairn: `cairn restore --repo s3://BUCKET/cairn-N --to X` (stages
     identity, catalog, manifests and logs, downloads the backup's pieces, restores).
     Baseline: `aws s3 cp --recursive` of every object under s3://BUCKET/cairn-N/ (everything
     Cairn's restore may read) to a local directory, then `cairn restore --repo DIR/DBID --to Y`
     (a local restore from that copy of the repository); the sum of both steps.

Every cairn command runs under `/usr/bin/time -f %M` (its maximum resident set size). Prints the
medians and writes a Markdown report to --out (never to docs/ unless told), with the samples as
JSON beside it (OUT.json).
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import random
import shlex
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

MIB = 1024 * 1024
BUCKET = "cairn-bench"


def log(msg: str) -> None:
    print(f"[remote-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class CommandFailed(RuntimeError):
    pass


def run(argv: list[str], env: dict, capture: bool = True, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run(argv, env=env, stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                       stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    if check and r.returncode != 0:
        raise CommandFailed(f"{shlex.join(argv)} exited {r.returncode}: {r.stderr.strip()[-2000:]}")
    return r


def timed(argv: list[str], env: dict, logdir: Path) -> tuple[float, int, str]:
    """Wall seconds and max RSS (KiB, from GNU time: wait4() in Python would report Python's own
    RSS for a child forked from it) of one command; its stdout."""
    rss_path = logdir / "last.rss"
    t0 = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(rss_path), *argv], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    seconds = time.perf_counter() - t0
    if r.returncode != 0:
        raise CommandFailed(f"{shlex.join(argv)} exited {r.returncode}: {r.stderr.strip()[-2000:]}")
    try:
        rss = int(rss_path.read_text().split()[-1])
    except (OSError, ValueError, IndexError):
        rss = 0
    return seconds, rss, r.stdout


def rm(*paths: Path) -> None:
    for p in paths:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        elif p.exists() or p.is_symlink():
            p.unlink()


def tree_bytes(p: Path) -> tuple[int, int]:
    files = [f for f in p.rglob("*") if f.is_file()]
    return len(files), sum(f.stat().st_size for f in files)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accepts(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


# --------------------------------------------------------------------------------------------
# The database


def make_database(path: Path, mib: int, seed: int = 12) -> None:
    """About `mib` MiB: each row a random blob (incompressible) and a repetitive text
    (compressible), so zstd shrinks the pages by about a fifth only and the backup stays large."""
    log(f"creating {path} ({mib} MiB)")
    rng = random.Random(seed)
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"]
    tmp = path.with_suffix(".creating")
    rm(tmp)
    con = sqlite3.connect(str(tmp), isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE items(id INTEGER PRIMARY KEY, payload BLOB, note TEXT)")
    target = mib * MIB
    while tmp.stat().st_size + (Path(str(tmp) + "-wal").stat().st_size if Path(str(tmp) + "-wal").exists() else 0) < target:
        con.execute("BEGIN")
        for _ in range(2000):
            note = " ".join(rng.choice(words) + str(rng.randrange(100)) for _ in range(rng.randrange(50, 150)))
            con.execute("INSERT INTO items(payload, note) VALUES (?, ?)", (rng.randbytes(rng.randrange(1000, 4000)), note))
        con.execute("COMMIT")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    tmp.rename(path)


def content_digest(path: Path) -> str:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    h = hashlib.sha256()
    for row in con.execute("SELECT id, payload, note FROM items ORDER BY id"):
        h.update(repr(row).encode())
    con.close()
    return h.hexdigest()


def fresh_copy(src: Path, dst: Path) -> None:
    """A copy of `src` at `dst` with no Cairn repository or control-file copy beside it."""
    for p in (dst, Path(str(dst) + "-wal"), Path(str(dst) + "-shm"), Path(str(dst) + ".cairn"),
              dst.parent / f".{dst.name}.cairn-control"):
        rm(p)
    shutil.copyfile(src, dst)


# --------------------------------------------------------------------------------------------
# The server


class Server:
    def __init__(self, kind: str, workdir: Path):
        self.port = free_port()
        self.log_path = workdir / f"{kind}.log"
        self.kind = kind
        out = open(self.log_path, "wb")
        if kind == "moto":
            argv = ["moto_server", "-H", "127.0.0.1", "-p", str(self.port)]
            self.version = run([sys.executable, "-c", "import moto; print(moto.__version__)"], os.environ.copy()).stdout.strip()
        else:
            data = workdir / "minio-data"
            rm(data)
            data.mkdir(parents=True)
            argv = ["minio", "server", "--address", f"127.0.0.1:{self.port}", str(data)]
            self.version = run(["minio", "--version"], os.environ.copy()).stdout.splitlines()[0]
        self.proc = subprocess.Popen(argv, stdout=out, stderr=out, stdin=subprocess.DEVNULL)
        deadline = time.time() + 60
        while not accepts(self.port):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"{kind} did not start: {self.log_path.read_text(errors='replace')[-1500:]}")
            time.sleep(0.2)
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def rss_mib(self) -> float:
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0


def environment(endpoint: str, cache: Path, attempts: int | None = None) -> dict:
    env = os.environ.copy()
    env.update({"AWS_ENDPOINT_URL_S3": endpoint, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "AKIABENCH",
                "AWS_SECRET_ACCESS_KEY": "bench-secret", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
                "CAIRN_S3_CACHE": str(cache), "CAIRN_S3_PATH_STYLE": "1"})
    if attempts is not None:
        env["AWS_MAX_ATTEMPTS"] = str(attempts)
    return env


# --------------------------------------------------------------------------------------------
# One run


class Bench:
    def __init__(self, args, server: Server, work: Path):
        self.args = args
        self.cairn = str(Path(args.cairn).resolve())
        self.server = server
        self.work = work
        self.logdir = work / "logs"
        self.logdir.mkdir(parents=True, exist_ok=True)
        self.cache = work / "s3-cache"
        self.env = environment(server.endpoint, self.cache)
        # A closed port: every request is refused at once, so the backup is taken locally only.
        self.unreachable = environment(f"http://127.0.0.1:{free_port()}", self.cache, attempts=1)
        self.db = work / "bench.db"
        self.samples: list[dict] = []
        self.verified: dict = {}

    def aws(self, *args: str) -> list[str]:
        return ["aws", "s3", *args, "--endpoint-url", self.server.endpoint, "--only-show-errors"]

    def prepare(self, r: int) -> dict:
        """A fresh copy, registered with the remote s3://BUCKET/cairn-R, and a level-0 backup
        taken while the remote cannot be reached (untimed)."""
        fresh_copy(Path(self.args.db), self.db)
        rm(self.cache)
        url = f"s3://{BUCKET}/cairn-{r}"
        run([self.cairn, "init", str(self.db), "--remote", url, "--remote-mode", self.args.remote_mode], self.unreachable)
        b = json.loads(run([self.cairn, "backup", str(self.db), "--json"], self.unreachable).stdout)
        status = json.loads(run([self.cairn, "status", str(self.db), "--json"], self.unreachable).stdout)
        repo = Path(str(self.db) + ".cairn")
        dirs = sorted((repo / "backups").iterdir())
        assert len(dirs) == 1, f"expected one backup folder in {repo / 'backups'}, found {dirs}"
        remote = (status.get("remotes") or [{}])[0]
        if remote.get("backupsStored"):
            raise RuntimeError(f"the backup reached the remote although its endpoint was unreachable: {remote}")
        files, size = tree_bytes(dirs[0])
        return {"url": url, "backup_dir": dirs[0], "backup_files": files, "backup_bytes": size, "backup": b}

    def upload_cairn(self, p: dict) -> tuple[float, int]:
        s, rss, out = timed([self.cairn, "configure", str(self.db), "remote", "sync", "--json"], self.env, self.logdir)
        report = json.loads(out)
        if report["report"]["failures"]:
            raise RuntimeError(f"remote sync failed: {report['report']['failures']}")
        return s, rss

    def upload_aws(self, p: dict, r: int) -> float:
        dest = f"s3://{BUCKET}/aws-{r}/backups/{p['backup_dir'].name}/"
        s, _, _ = timed(self.aws("cp", "--recursive", str(p["backup_dir"]) + "/", dest), self.env, self.logdir)
        return s

    def restore_cairn(self, p: dict, r: int) -> tuple[float, int, Path]:
        out_dir = self.work / f"restored-cairn-{r}"
        rm(out_dir, self.cache)
        out_dir.mkdir()
        out = out_dir / "restored.db"
        s, rss, _ = timed([self.cairn, "restore", "--repo", p["url"], "--to", str(out)], self.env, self.logdir)
        return s, rss, out

    def restore_aws(self, p: dict, r: int) -> tuple[float, float, int, Path, int]:
        dl = self.work / f"download-{r}"
        out_dir = self.work / f"restored-local-{r}"
        rm(dl, out_dir)
        out_dir.mkdir()
        s_dl, _, _ = timed(self.aws("cp", "--recursive", p["url"] + "/", str(dl) + "/"), self.env, self.logdir)
        dbids = [d for d in dl.iterdir() if d.is_dir()]
        assert len(dbids) == 1, f"expected one DBID folder in {dl}, found {dbids}"
        _, dl_bytes = tree_bytes(dl)
        out = out_dir / "restored.db"
        s_rs, rss, _ = timed([self.cairn, "restore", "--repo", str(dbids[0]), "--to", str(out)], self.env, self.logdir)
        return s_dl, s_rs, rss, out, dl_bytes

    def one_run(self, r: int) -> dict:
        p = self.prepare(r)
        sample = {"run": r + 1, "backup_files": p["backup_files"], "backup_bytes": p["backup_bytes"]}
        cairn_first = r % 2 == 0
        for first in ([True, False] if cairn_first else [False, True]):
            if first:
                sample["upload_cairn_s"], sample["upload_cairn_rss_kib"] = self.upload_cairn(p)
            else:
                sample["upload_aws_s"] = self.upload_aws(p, r)
        outs = []
        for first in ([True, False] if cairn_first else [False, True]):
            if first:
                sample["restore_cairn_s"], sample["restore_cairn_rss_kib"], out = self.restore_cairn(p, r)
            else:
                (sample["restore_aws_download_s"], sample["restore_local_s"], sample["restore_local_rss_kib"], out,
                 sample["restore_bytes"]) = self.restore_aws(p, r)
            outs.append(out)
        if r == 0 and not self.args.no_verify:
            log("verifying both restored databases against the source (untimed)")
            src = content_digest(Path(self.args.db))
            self.verified = {str(o.parent.name): content_digest(o) == src for o in outs}
            if not all(self.verified.values()):
                raise RuntimeError(f"a restored database differs from the source: {self.verified}")
        sample["moto_rss_mib"] = self.server.rss_mib()
        self.cleanup(r)
        log(f"run {r + 1}: upload cairn {sample['upload_cairn_s']:.2f}s aws {sample['upload_aws_s']:.2f}s | "
            f"restore cairn {sample['restore_cairn_s']:.2f}s aws {sample['restore_aws_download_s']:.2f}s "
            f"+ local {sample['restore_local_s']:.2f}s | rss upload {sample['upload_cairn_rss_kib'] / 1024:.1f} MiB "
            f"restore {sample['restore_cairn_rss_kib'] / 1024:.1f} MiB")
        return sample

    def cleanup(self, r: int) -> None:
        run(["aws", "s3", "rm", "--recursive", f"s3://{BUCKET}/", "--endpoint-url", self.server.endpoint, "--only-show-errors"], self.env)
        for name in (f"restored-cairn-{r}", f"restored-local-{r}", f"download-{r}"):
            rm(self.work / name)


# --------------------------------------------------------------------------------------------
# Report


def med(xs: list[float]) -> float:
    return statistics.median(xs)


def summarize(samples: list[dict]) -> dict:
    col = lambda k: [s[k] for s in samples]  # noqa: E731
    aws_restore = [s["restore_aws_download_s"] + s["restore_local_s"] for s in samples]
    return {
        "upload_cairn": med(col("upload_cairn_s")), "upload_aws": med(col("upload_aws_s")),
        "upload_ratio": med(col("upload_cairn_s")) / med(col("upload_aws_s")),
        "upload_ratio_best": min(col("upload_cairn_s")) / min(col("upload_aws_s")),
        "restore_cairn": med(col("restore_cairn_s")), "restore_aws_download": med(col("restore_aws_download_s")),
        "restore_local": med(col("restore_local_s")), "restore_baseline": med(aws_restore),
        "restore_ratio": med(col("restore_cairn_s")) / med(aws_restore),
        "restore_ratio_best": min(col("restore_cairn_s")) / min(aws_restore),
        "rss_upload_mib": max(col("upload_cairn_rss_kib")) / 1024, "rss_restore_mib": max(col("restore_cairn_rss_kib")) / 1024,
        "rss_local_restore_mib": max(col("restore_local_rss_kib")) / 1024,
        "backup_bytes": med(col("backup_bytes")), "backup_files": med(col("backup_files")), "restore_bytes": med(col("restore_bytes")),
    }


def verdict(ok: bool) -> str:
    return "**PASS**" if ok else "**MISS**"


def render(args, meta: dict, samples: list[dict], m: dict) -> str:
    mbps = lambda b, s: b / MIB / s  # noqa: E731
    L = [f"Median of {len(samples)} runs, interleaved (Cairn first in odd runs, awscli first in even ones), "
         f"{meta['date']}; command: `{meta['command']}`.", "",
         "| | |", "| --- | --- |",
         f"| Cores (`nproc`) / CPU | {meta['cores']} / {meta['cpu']} |",
         f"| Cairn | `{meta['commit']}`, release build `{meta['cairn']}` |",
         f"| Server | {meta['server']} on 127.0.0.1 (signatures not checked), path-style |",
         f"| Baseline | {meta['aws']}, default transfer settings (multipart threshold and chunk 8 MiB, 10 concurrent requests) |",
         f"| Database | {meta['db_mib']:.1f} MiB ({meta['db']}) |",
         f"| Backup (level 0, default zstd fast) | {m['backup_bytes'] / MIB:.1f} MiB in {m['backup_files']:.0f} files (pieces + manifest) |",
         f"| Bytes a restore reads from the bucket | {m['restore_bytes'] / MIB:.1f} MiB (backup, archived logs, catalog, identity) |",
         f"| Page cache | warm (not dropped): every tool reads files the previous step wrote |", "",
         "| Case | Cairn (median) | Baseline (median) | Ratio (median) | Ratio (best) | Target | Verdict |",
         "| --- | --- | --- | --- | --- | --- | --- |",
         f"| A. Upload of a level-0 backup: `cairn configure DB remote sync` vs `aws s3 cp --recursive BACKUPDIR` | "
         f"{m['upload_cairn']:.2f} s ({mbps(m['backup_bytes'], m['upload_cairn']):.0f} MiB/s) | "
         f"{m['upload_aws']:.2f} s ({mbps(m['backup_bytes'], m['upload_aws']):.0f} MiB/s) | {m['upload_ratio']:.2f}× | "
         f"{m['upload_ratio_best']:.2f}× | ≤ 1.0× | {verdict(m['upload_ratio'] <= 1.0)} |",
         f"| B. Restore from the bucket: `cairn restore --repo s3://…` vs `aws s3 cp --recursive` down + `cairn restore --repo DIR` | "
         f"{m['restore_cairn']:.2f} s | {m['restore_baseline']:.2f} s ({m['restore_aws_download']:.2f} s download + "
         f"{m['restore_local']:.2f} s local restore) | {m['restore_ratio']:.2f}× | {m['restore_ratio_best']:.2f}× | ≤ 1.0× | "
         f"{verdict(m['restore_ratio'] <= 1.0)} |",
         f"| Peak memory (max RSS, max over runs) of cairn in A / in B | {m['rss_upload_mib']:.1f} / {m['rss_restore_mib']:.1f} MiB "
         f"| (local restore: {m['rss_local_restore_mib']:.1f} MiB) | | | ≤ 64 MiB | {verdict(max(m['rss_upload_mib'], m['rss_restore_mib']) <= 64)} |",
         "", "Per run (seconds; RSS in MiB):", "",
         "| Run | A cairn | A aws | B cairn | B aws download | B local restore | RSS A | RSS B | server RSS after |",
         "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for s in samples:
        L.append(f"| {s['run']} | {s['upload_cairn_s']:.2f} | {s['upload_aws_s']:.2f} | {s['restore_cairn_s']:.2f} | "
                 f"{s['restore_aws_download_s']:.2f} | {s['restore_local_s']:.2f} | {s['upload_cairn_rss_kib'] / 1024:.1f} | "
                 f"{s['restore_cairn_rss_kib'] / 1024:.1f} | {s['moto_rss_mib']:.0f} |")
    if meta.get("verified"):
        L += ["", "Both restored databases (run 1) have the source's content (SHA-256 of every row): "
              + ", ".join(f"{k} {'same' if v else 'DIFFERENT'}" for k, v in meta["verified"].items()) + "."]
    return "\n".join(L) + "\n"


def metadata(args, server: Server) -> dict:
    repo = Path(__file__).resolve().parents[2]
    commit = run(["git", "-C", str(repo), "rev-parse", "HEAD"], os.environ.copy()).stdout.strip()
    dirty = run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"], os.environ.copy()).stdout.strip()
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    aws = run(["aws", "--version"], os.environ.copy())
    return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "command": "python3 scripts/bench/remote.py " + shlex.join(sys.argv[1:]),
            "cores": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
            "commit": commit[:12] + (" (modified)" if dirty else ""), "cairn": args.cairn,
            "server": f"{server.kind} {server.version}", "aws": (aws.stdout or aws.stderr).strip().split()[0],
            "db": args.db, "db_mib": Path(args.db).stat().st_size / MIB}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cairn", default=".build-bench/release/cairn")
    ap.add_argument("--db", required=True, help="database to copy each run (created with --mib MiB when missing)")
    ap.add_argument("--mib", type=int, default=256)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--work", default=None, help="work directory (default: beside --db, removed at the end)")
    ap.add_argument("--out", required=True, help="Markdown report to write (the samples go to OUT.json)")
    ap.add_argument("--server", choices=["moto", "minio"], default="moto")
    ap.add_argument("--remote-mode", choices=["sync", "async"], default="async")
    ap.add_argument("--no-verify", action="store_true", help="skip comparing the restored databases with the source")
    args = ap.parse_args()
    for tool in ("aws", "moto_server" if args.server == "moto" else "minio"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is not on PATH")
    if not Path("/usr/bin/time").exists():
        sys.exit("GNU time is missing: apt-get install -y time")
    if not Path(args.cairn).exists():
        sys.exit(f"{args.cairn} is missing: swift build -c release --product cairn --scratch-path .build-bench")
    if not Path(args.db).exists():
        make_database(Path(args.db), args.mib)
    work = Path(args.work) if args.work else Path(args.db).resolve().parent / "remote-bench-work"
    rm(work)
    work.mkdir(parents=True)
    server = Server(args.server, work)
    try:
        bench = Bench(args, server, work)
        run(["aws", "s3api", "create-bucket", "--bucket", BUCKET, "--endpoint-url", server.endpoint], bench.env)
        meta = metadata(args, server)
        samples = []
        for r in range(args.runs):
            samples.append(bench.one_run(r))
        meta["verified"] = bench.verified
    finally:
        server.stop()
    m = summarize(samples)
    text = render(args, meta, samples, m)
    Path(args.out).write_text(text)
    Path(str(args.out) + ".json").write_text(json.dumps({"meta": meta, "summary": m, "samples": samples}, indent=1, default=str))
    print(text)
    if not args.work:
        rm(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
