#!/usr/bin/env python3
"""The benchmark suite's driver; run it through bench/suite (which installs
and builds what it needs). Methodology and how to read the output:
docs/benchmarks.md.

For each filesystem under SOURCE (ext4 in /var/tmp, a tmpfs mounted here)
it lays out deterministic data once, then for every repetition and every
workload group mounts each system in turn (order rotated per repetition),
runs the group's measured steps, verifies their results, and unmounts.
For passthroughfs the daemon's per-opcode request counters are read before
and after every measured step (SIGUSR1 + --stats-file) and the difference is
reported next to the timing.
"""

import argparse
import csv
import datetime
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

from plot import plot
from suite_systems import (CMD_TIMEOUT, PTFS_VARIANTS, StepFailed, count_tree, drop_caches,
                           is_mounted, log, make_systems, run)

FULL = dict(
    seq_bytes=1 << 30,       # W1/W3 file size; W2/W3b work on a file this large
    rand_runtime=2,          # seconds per time-based fio job (W2, W3b)
    create_files=10000,      # W4 create/stat/ls -l/rm
    tree=(25, 40, 49),       # W4 find/rm -rf: 25 dirs x 40 subdirs x 49 files = 50,025 entries
    git_files=20000,         # W5 git status
    tar_files=30000,         # W5 tar x (30 x 10 dirs x 100 files, ~120 MB)
    lat_calls=100000,        # W6 calls per loop (+10% untimed warm-up)
)
QUICK = dict(
    seq_bytes=64 << 20,
    rand_runtime=1,
    create_files=1000,
    tree=(10, 10, 49),
    git_files=2000,
    tar_files=3000,
    lat_calls=20000,
)

# ---------------------------------------------------------------- data

class Env:
    """One filesystem under test: where SOURCE and the mountpoint are."""

    def __init__(self, fstype, base, sizes):
        self.fstype = fstype
        self.base = base
        self.sizes = sizes
        self.source = os.path.join(base, "src")
        self.mnt = os.path.join(base, "mnt")
        self.ovl_lower = os.path.join(base, "ovl-lower")
        self.ovl_work = os.path.join(base, "ovl-work")
        self.logs = os.path.join(base, "logs")
        self.tarball = os.path.join(base, "tree.tar")
        for d in (self.source, self.mnt, self.ovl_lower, self.ovl_work, self.logs):
            os.makedirs(d, exist_ok=True)


def write_random_file(path, size, seed):
    rng = random.Random(seed)
    chunk = 1 << 20
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(chunk, left)
            f.write(rng.randbytes(n))
            left -= n


def make_git_repo(env, metabench):
    repo = os.path.join(env.source, "repo")
    n = env.sizes["git_files"]
    rng = random.Random(5)
    words = ["alpha", "beta", "gamma", "delta", "fuse", "inode", "dentry", "page", "cache", "lock"]
    per_dir = 100
    for i in range(n):
        d = os.path.join(repo, f"m{i // (per_dir * 10)}", f"s{(i // per_dir) % 10}")
        if i % per_dir == 0:
            os.makedirs(d, exist_ok=True)
        lines = rng.randint(5, 60)
        with open(os.path.join(d, f"file{i}.c"), "w") as f:
            for _ in range(lines):
                f.write(" ".join(rng.choice(words) for _ in range(6)) + ";\n")
    genv = git_env(env)
    run(["git", "-c", "init.defaultBranch=main", "init", "-q", repo], env=genv)
    run(["git", "-C", repo, "add", "-A"], env=genv)
    run(["git", "-C", repo, "commit", "-q", "-m", "bench: deterministic tree"], env=genv)
    # Files written in the same second as the index are "racily clean": every
    # status would re-read them. Rewrite the index once their mtimes are in
    # the past, as a checkout that was not just created looks.
    time.sleep(1.1)
    run(["git", "-C", repo, "read-tree", "HEAD"], env=genv)
    run(["git", "-C", repo, "update-index", "--refresh", "-q"], env=genv)
    out, _ = run(["git", "-C", repo, "rev-parse", "HEAD"], env=genv)
    return out.decode().strip()


def git_env(env):
    e = dict(os.environ)
    e.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL="/dev/null", HOME=env.base,
             GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.org",
             GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.org",
             GIT_AUTHOR_DATE="2024-01-01T00:00:00Z", GIT_COMMITTER_DATE="2024-01-01T00:00:00Z",
             GIT_OPTIONAL_LOCKS="0", LC_ALL="C")
    return e


def make_tarball(env):
    """Deterministic tarball: tar_files files in 3-level nested dirs, sizes
    0-8 KiB from a seeded PRNG. Returns (files, dirs, bytes)."""
    n = env.sizes["tar_files"]
    rng = random.Random(7)
    files = dirs = total = 0
    import io
    with tarfile.open(env.tarball, "w", format=tarfile.GNU_FORMAT) as tar:
        def add_dir(name):
            ti = tarfile.TarInfo(name)
            ti.type = tarfile.DIRTYPE
            ti.mode = 0o755
            ti.mtime = 1700000000
            tar.addfile(ti)
        add_dir("src")
        for i in range(n):
            top, sub = i // 1000, (i // 100) % 10
            if i % 1000 == 0:
                add_dir(f"src/t{top}")
                dirs += 1
            if i % 100 == 0:
                add_dir(f"src/t{top}/s{sub}")
                dirs += 1
            size = rng.randint(0, 8192)
            ti = tarfile.TarInfo(f"src/t{top}/s{sub}/f{i}.dat")
            ti.size = size
            ti.mode = 0o644
            ti.mtime = 1700000000
            tar.addfile(ti, io.BytesIO(rng.randbytes(size)))
            files += 1
            total += size
    return files, dirs + 1, total


def prepare_data(env, metabench):
    s = env.sizes
    t0 = time.time()
    log(f"[{env.fstype}] laying out data in {env.source}")
    write_random_file(os.path.join(env.source, "data.bin"), s["seq_bytes"], 1)
    write_random_file(os.path.join(env.source, "rw.bin"), s["seq_bytes"], 2)
    os.makedirs(os.path.join(env.source, "lat"))
    write_random_file(os.path.join(env.source, "lat", "file"), 4096, 3)
    a, b, c = s["tree"]
    run([metabench, "mktree", os.path.join(env.source, "tree"), str(a), str(b), str(c)])
    info = {"git_head": make_git_repo(env, metabench)}
    info["tar"] = make_tarball(env)
    os.sync()
    log(f"[{env.fstype}] data ready in {time.time() - t0:.0f}s (git HEAD {info['git_head'][:12]})")
    return info


# ---------------------------------------------------------------- workloads
#
# A group is run in one mount: prep(env) natively before mounting, then its
# steps in order. Each step: (name, description, unit, higher_is_better,
# fn(env, path) -> value). A step raises StepFailed when its command fails or
# its result does not verify.

def fio(args, path_for_log):
    out, _ = run(["fio", "--output-format=json", "--ioengine=psync", "--iodepth=1",
                  "--invalidate=0", "--group_reporting", *args])
    try:
        j = json.loads(out.decode()[out.decode().index("{"):])
        job = j["jobs"][0]
    except (ValueError, KeyError, IndexError) as e:
        raise StepFailed(f"fio output unreadable ({e})")
    if job.get("error", 0) != 0:
        raise StepFailed(f"fio error {job['error']} on {path_for_log}")
    return job


def w_seqread(env, p):
    size = env.sizes["seq_bytes"]
    job = fio(["--name=seqread", f"--filename={p}/data.bin", "--rw=read", "--bs=1M",
               f"--size={size}"], p)
    if job["read"]["io_bytes"] != size:
        raise StepFailed(f"read {job['read']['io_bytes']} bytes, expected {size}")
    return job["read"]["bw_bytes"] / 2**20


def w_randread(jobs):
    def fn(env, p):
        job = fio([f"--name=randread{jobs}", f"--filename={p}/data.bin", "--rw=randread", "--bs=4k",
                   f"--size={env.sizes['seq_bytes']}", f"--numjobs={jobs}", "--time_based",
                   f"--runtime={env.sizes['rand_runtime']}", "--randrepeat=1"], p)
        if job["read"]["io_bytes"] <= 0:
            raise StepFailed("fio read nothing")
        return job["read"]["iops"] / 1000
    return fn


# Seconds W3 waits (after the sync every step gets) before it writes. The previous system's
# W3 wrote and fsynced 1 GiB just before; on this VM the host is still
# flushing that for a few seconds, and a write+fsync started meanwhile runs at
# the disk's speed (~400 MiB/s) instead of the host cache's (~1.7 GiB/s). The
# rotation keeps each system's neighbours fixed, so without the wait the
# system after native (a fast writer) was slow in 4-5 of 5 repetitions.
WRITE_SETTLE_S = 3.0


def w_seqwrite(env, p):
    size = env.sizes["seq_bytes"]
    time.sleep(WRITE_SETTLE_S if size >= FULL["seq_bytes"] else 0)  # the runner just synced
    job = fio(["--name=seqwrite", f"--filename={p}/seqw.bin", "--rw=write", "--bs=1M",
               f"--size={size}", "--end_fsync=1"], p)
    if job["write"]["io_bytes"] != size:
        raise StepFailed(f"wrote {job['write']['io_bytes']} bytes, expected {size}")
    st = os.stat(os.path.join(env.source, "seqw.bin"))
    if st.st_size != size:
        raise StepFailed(f"seqw.bin has {st.st_size} bytes in SOURCE, expected {size}")
    return job["write"]["bw_bytes"] / 2**20


def w_randwrite(env, p):
    size = env.sizes["seq_bytes"]
    job = fio(["--name=randwrite", f"--filename={p}/rw.bin", "--rw=randwrite", "--bs=4k",
               f"--size={size}", "--time_based", f"--runtime={env.sizes['rand_runtime']}",
               "--randrepeat=1"], p)
    if job["write"]["io_bytes"] <= 0:
        raise StepFailed("fio wrote nothing")
    if os.stat(os.path.join(env.source, "rw.bin")).st_size != size:
        raise StepFailed("rw.bin changed size")
    return job["write"]["iops"] / 1000


def metabench(env, *args):
    out, _ = run([env.metabench, *args])
    f = out.decode().split()
    vals = dict(zip(f[1::2], f[2::2]))
    if int(vals["failures"]) != 0:
        raise StepFailed(f"metabench {args[0]}: {vals['failures']} failures")
    return vals


def native_entries(env, rel):
    return len(os.listdir(os.path.join(env.source, rel)))


def w_create(env, p):
    n = env.sizes["create_files"]
    v = metabench(env, "create", f"{p}/meta", str(n))
    if native_entries(env, "meta") != n:
        raise StepFailed(f"{native_entries(env, 'meta')} files in SOURCE/meta, expected {n}")
    return float(v["seconds"])


def w_stat(env, p):
    return float(metabench(env, "stat", f"{p}/meta", str(env.sizes["create_files"]))["seconds"])


def w_lsl(env, p):
    out, dt = run(["ls", "-l", "--color=never", f"{p}/meta"], env=dict(os.environ, LC_ALL="C"))
    lines = out.count(b"\n")
    if lines != env.sizes["create_files"] + 1:
        raise StepFailed(f"ls -l printed {lines} lines, expected {env.sizes['create_files'] + 1}")
    return dt


def w_unlink(env, p):
    v = metabench(env, "unlink", f"{p}/meta", str(env.sizes["create_files"]))
    if native_entries(env, "meta") != 0:
        raise StepFailed("files left in SOURCE/meta after rm")
    return float(v["seconds"])


def tree_entries(sizes):
    a, b, c = sizes["tree"]
    return 1 + a + a * b + a * b * c  # find prints the root too


def w_find(cold):
    def fn(env, p):
        if cold:
            drop_caches()
        out, dt = run(["find", f"{p}/tree"])
        n = out.count(b"\n")
        if n != tree_entries(env.sizes):
            raise StepFailed(f"find printed {n} entries, expected {tree_entries(env.sizes)}")
        return dt
    return fn


def w_rmrf(env, p):
    _, dt = run(["rm", "-rf", f"{p}/rmtree"])
    if os.path.exists(os.path.join(env.source, "rmtree")):
        raise StepFailed("SOURCE/rmtree still exists after rm -rf")
    return dt


def w_tarx(env, p):
    _, dt = run(["tar", "-xf", env.tarball, "-C", f"{p}/tarx"])
    files, dirs, size = count_tree(os.path.join(env.source, "tarx"))
    ef, ed, es = env.tar_expect
    if (files, dirs, size) != (ef, ed, es):
        raise StepFailed(f"tar x gave {files} files/{dirs} dirs/{size} bytes, expected {ef}/{ed}/{es}")
    return dt


def w_lat(kind):
    def fn(env, p):
        return float(metabench(env, kind, f"{p}/lat/file", str(env.sizes["lat_calls"]))["ns_per_call"])
    return fn


def warm_read(env, p):
    with open(f"{p}/data.bin", "rb") as f:
        while f.read(1 << 20):
            pass


def warm_git(env, p):
    genv = git_env(env)
    run(["git", "-C", f"{p}/repo", "-c", f"safe.directory={p}/repo", "status", "--porcelain"],
        env=genv)


def prep_write(env):
    for f in ("seqw.bin",):
        try:
            os.unlink(os.path.join(env.source, f))
        except FileNotFoundError:
            pass


def prep_meta(env):
    d = os.path.join(env.source, "meta")
    shutil.rmtree(d, ignore_errors=True)
    os.mkdir(d)


def prep_rmtree(env):
    d = os.path.join(env.source, "rmtree")
    shutil.rmtree(d, ignore_errors=True)
    a, b, c = env.sizes["tree"]
    run([env.metabench, "mktree", d, str(a), str(b), str(c)])


def prep_tar(env):
    d = os.path.join(env.source, "tarx")
    shutil.rmtree(d, ignore_errors=True)
    os.mkdir(d)


def workload_groups(sizes):
    gib = sizes["seq_bytes"] / 2**30
    sz = f"{gib:g} GiB" if gib >= 1 else f"{sizes['seq_bytes'] >> 20} MiB"
    n, te = sizes["create_files"], tree_entries(sizes) - 1
    rt = sizes["rand_runtime"]
    mbs, kiops, sec, ns = "MiB/s", "kIOPS", "s", "ns/call"
    # group: (name, workload ids, native prep, untimed warm-up in the mount, steps)
    return [
        ("read", "W1 W2", None, warm_read, [
            ("W1.seqread", f"sequential read {sz}, 1 MiB, page cache warm", mbs, True, w_seqread),
            ("W2.randread1", f"random read 4 KiB, 1 job, {rt}s, warm", kiops, True, w_randread(1)),
            ("W2.randread2", f"random read 4 KiB, 2 jobs, {rt}s, warm", kiops, True, w_randread(2)),
        ]),
        ("write", "W3 W3b", prep_write, None, [
            ("W3.seqwrite", f"sequential write {sz}, 1 MiB, fsync at end", mbs, True, w_seqwrite),
            ("W3b.randwrite", f"random write 4 KiB, {rt}s, buffered", kiops, True, w_randwrite),
        ]),
        ("meta", "W4", prep_meta, None, [
            ("W4.create", f"create {n} empty files in one dir", sec, False, w_create),
            ("W4.stat", f"lstat those {n} files (warm)", sec, False, w_stat),
            ("W4.ls-l", f"ls -l of the {n}-entry dir", sec, False, w_lsl),
            ("W4.rm", f"unlink the {n} files", sec, False, w_unlink),
        ]),
        ("find", "W4", None, None, [
            ("W4.find-cold", f"find over {te}-entry tree, caches dropped, fresh mount", sec, False,
             w_find(True)),
            ("W4.find-warm", f"find over the same tree again (warm)", sec, False, w_find(False)),
        ]),
        ("rmtree", "W4", prep_rmtree, None, [
            ("W4.rm-rf", f"rm -rf of a {te}-entry tree (fresh mount)", sec, False, w_rmrf),
        ]),
        ("git", "W5", None, warm_git, [
            ("W5.git-status", f"git status, {sizes['git_files']} files (after one warm-up)", sec,
             False, w_git_status_measured),
        ]),
        ("tar", "W5", prep_tar, None, [
            ("W5.tar-x", f"tar x of {sizes['tar_files']} files in nested dirs", sec, False, w_tarx),
        ]),
        ("lat", "W6", None, None, [
            ("W6.stat", "stat() of one file, per call", ns, False, w_lat("statlat")),
            ("W6.open-close", "open()+close() of one file, per call", ns, False, w_lat("openlat")),
        ]),
    ]


def w_git_status_measured(env, p):
    cmd = ["git", "-C", f"{p}/repo", "-c", f"safe.directory={p}/repo", "status", "--porcelain"]
    out, dt = run(cmd, env=git_env(env))
    if out.strip():
        raise StepFailed(f"git status not clean: {out.decode()[:200]!r}")
    return dt


# ---------------------------------------------------------------- running

def delta(before, after):
    return {k[len("opcode_"):]: after[k] - before.get(k, 0)
            for k in after if k.startswith("opcode_") and after[k] - before.get(k, 0) != 0}


# Monotonic daemon counters besides the opcodes, kept in the JSON per run.
DATA_PATH_COUNTERS = ("opens_passthrough", "opens_served", "backing_registered", "backing_failed")


def counter_delta(before, after):
    return {k: after.get(k, 0) - before.get(k, 0) for k in DATA_PATH_COUNTERS}


def run_group(env, system, group, results, rep):
    gname, _, prep, warm, steps = group
    failed = None
    try:
        if prep:
            prep(env)
        os.sync()
        system.mount(env)
        if warm:
            warm(env, system.path)
    except Exception as e:  # noqa: BLE001 - any failure makes the rows FAIL
        failed = f"setup: {e}"
    for sname, _, _, _, fn in steps:
        rec = results.setdefault((env.fstype, sname, system.name),
                                 {"values": [], "requests": [], "counters": [], "errors": []})
        if failed:
            rec["errors"].append(f"rep {rep}: {failed}")
            continue
        try:
            os.sync()  # no dirty pages left from the previous step
            before = system.snapshot()
            value = fn(env, system.path)
            if before is not None:
                time.sleep(0.1)  # let asynchronous RELEASE/FORGET arrive
                after = system.snapshot()
                rec["requests"].append(delta(before, after))
                rec["counters"].append(counter_delta(before, after))
            rec["values"].append(value)
        except Exception as e:  # noqa: BLE001
            failed = f"{sname}: {e}"
            rec["errors"].append(f"rep {rep}: {failed}")
    if system.accounting and not failed:
        try:
            results.setdefault((env.fstype, RTT_KEY, system.name), []).append(
                measure_round_trip(env, system.path))
        except StepFailed as e:
            log(f"[{env.fstype}] {system.name}: round trip not measured: {e}")
    try:
        system.umount(env)
    except Exception as e:  # noqa: BLE001
        for sname, *_ in steps:
            results[(env.fstype, sname, system.name)]["errors"].append(f"rep {rep}: unmount: {e}")
        subprocess.run(["umount", "-l", env.mnt], stderr=subprocess.DEVNULL)


# The round-trip floor (docs/benchmarks.md): after a group's steps, each
# passthroughfs mount times its cheapest request, a GETXATTR the daemon answers
# from memory (`metabench xattrlat`). A row's floor is native's median plus
# that price for every request the caller had to wait for: the time no FUSE
# server could beat on this host with the requests the kernel sent.
RTT_KEY = "_round_trip"
RTT_CALLS = 5000
# Requests the kernel sends without making the caller wait for the answer.
ASYNC_OPCODES = {"RELEASE", "RELEASEDIR", "FORGET", "BATCH_FORGET", "INTERRUPT", "NOTIFY_REPLY",
                 "DESTROY"}


def measure_round_trip(env, p):
    return float(metabench(env, "xattrlat", f"{p}/lat/file", str(RTT_CALLS))["ns_per_call"])


def measure_host_floor(env, floors):
    """Pipe ping-pong between two threads (same CPU, two CPUs): the host's
    price of a wakeup and two context switches, under every round trip."""
    for mode in ("same", "cross"):
        floors.setdefault(mode, []).append(
            float(metabench(env, "pingpong", mode, "20000")["ns_per_call"]))


def waited_requests(requests):
    return sum(c for op, c in requests.items() if op not in ASYNC_OPCODES)


def floor_value(unit, native_median, requests, rtt_ns, sizes):
    """The row's floor in its own unit, or None where it does not apply."""
    n = waited_requests(requests)
    if unit == "s":
        return native_median + n * rtt_ns * 1e-9
    if unit == "ns/call":  # the counts include metabench's untimed 10% warm-up
        calls = sizes["lat_calls"] + sizes["lat_calls"] // 10
        return native_median + n / calls * rtt_ns
    return None  # throughput rows: a handful of requests per GiB


def summarize(rec, native):
    if rec["errors"] or not rec["values"]:
        return None
    v = rec["values"]
    s = {"median": statistics.median(v), "min": min(v), "max": max(v)}
    if len(v) >= 4:
        q = statistics.quantiles(v, n=4)
        s["q1"], s["q3"] = q[0], q[2]
    return s


def median_requests(reqs):
    if not reqs:
        return {}
    ops = sorted({op for r in reqs for op in r})
    med = {op: statistics.median([r.get(op, 0) for r in reqs]) for op in ops}
    return {op: int(round(c)) for op, c in sorted(med.items(), key=lambda kv: -kv[1]) if c}


def fmt(x):
    if x >= 1000:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    if x >= 0.1:
        return f"{x:.3f}"
    return f"{x:.4f}"


def main():
    ap = argparse.ArgumentParser(description="passthroughfs benchmark suite (docs/benchmarks.md)")
    ap.add_argument("--quick", action="store_true", help="1 repetition, small sizes (smoke test)")
    ap.add_argument("--reps", type=int, help="repetitions (default 5; --quick: 1)")
    ap.add_argument("--fs", choices=["ext4", "tmpfs", "both"], default="both")
    ap.add_argument("--systems", help="comma list (native always included); default all")
    ap.add_argument("--workloads", help="comma list of group names or W ids, e.g. read,W4")
    ap.add_argument("--out-dir", help="where the JSON and CSV go (default bench/results/)")
    ap.add_argument("--ext4-dir", default="/var/tmp", help="ext4 directory for SOURCE")
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--keep", action="store_true", help="keep the data directories")
    ap.add_argument("--baseline", metavar="PATH",
                    help="another passthroughfs binary (e.g. an older commit's), run with "
                         "default options as the system ptfs-baseline: before/after in one run")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root")
    # The io_uring transport needs the fuse module's switch (off by default).
    try:
        with open("/sys/module/fuse/parameters/enable_uring", "w") as f:
            f.write("Y")
    except OSError as e:
        print(f"note: cannot enable FUSE over io_uring ({e}); the ptfs rows run over /dev/fuse")
    sizes = QUICK if args.quick else FULL
    reps = args.reps or (1 if args.quick else 5)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out_dir = args.out_dir or os.path.join(here, "bench", "results")
    os.makedirs(out_dir, exist_ok=True)
    systems = make_systems(args)
    groups = workload_groups(sizes)
    if args.workloads:
        want = args.workloads.split(",")
        groups = [g for g in groups if g[0] in want or any(w in g[1].split() for w in want)]
    fstypes = ["ext4", "tmpfs"] if args.fs == "both" else [args.fs]
    metabench_bin = os.path.join(args.build_dir, "bench", "metabench")
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    commit = subprocess.run(["git", "-C", here, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    results = {}
    host_floors = {}  # fstype -> {"same"|"cross": [ns per ping-pong, one per repetition]}
    envs = {}
    t_start = time.time()
    for fstype in fstypes:
        if fstype == "ext4":
            base = tempfile.mkdtemp(prefix="ptfs-suite-", dir=args.ext4_dir)
            got = subprocess.run(["stat", "-f", "-c", "%T", base], capture_output=True,
                                 text=True).stdout.strip()
            if got not in ("ext2/ext3", "ext4"):
                log(f"warning: {base} is on {got}, not ext4")
        else:
            base = tempfile.mkdtemp(prefix="ptfs-suite-tmpfs-", dir="/tmp")
            tsize = 4 * sizes["seq_bytes"] + (1 << 30)
            run(["mount", "-t", "tmpfs", "-o", f"size={tsize},mode=0755", "tmpfs", base])
        env = Env(fstype, base, sizes)
        env.metabench = metabench_bin
        envs[fstype] = env
        try:
            info = prepare_data(env, metabench_bin)
            env.tar_expect = info["tar"]
            env.info = info
            for rep in range(reps):
                if any(s.accounting for s in systems):
                    measure_host_floor(env, host_floors.setdefault(fstype, {}))
                for gi, group in enumerate(groups):
                    k = (rep + gi) % len(systems)
                    order = systems[k:] + systems[:k]
                    log(f"[{fstype}] rep {rep + 1}/{reps} {group[0]}: {' '.join(s.name for s in order)}")
                    for system in order:
                        run_group(env, system, group, results, rep)
        finally:
            for s in systems:
                if s.path and s.path != env.source:
                    subprocess.run(["umount", "-l", s.path], stderr=subprocess.DEVNULL)
            if fstype == "tmpfs":
                subprocess.run(["umount", base])
                os.rmdir(base)
            elif not args.keep:
                shutil.rmtree(base, ignore_errors=True)
    elapsed = time.time() - t_start

    # ------------------------------------------------------------ report
    rows = []
    lines = []
    hdr = (f"passthroughfs bench/suite  commit {commit}  kernel {os.uname().release}  "
           f"{reps} rep(s){'  QUICK' if args.quick else ''}  {elapsed / 60:.1f} min")
    lines.append(hdr)
    lines.append("value: median over reps; spread: min-max; vs native: speed relative to native "
                 "(>1 faster, <1 slower); floor: the best vs native any server reaches with "
                 "those requests at the measured round trip; requests: median per run, by opcode")
    for fstype in fstypes:
        hf = host_floors.get(fstype, {})
        rt = {n: statistics.median(v) for (f, k, n), v in results.items()
              if f == fstype and k == RTT_KEY and v}
        if hf or rt:
            lines.append(f"[{fstype}] round trip, ns (median over mounts): " +
                         "  ".join(f"{n} {v:.0f}" for n, v in rt.items()) +
                         "   pipe ping-pong, ns: " +
                         "  ".join(f"{m} CPU {statistics.median(v):.0f}" for m, v in hf.items()))
    for fstype in fstypes:
        for group in groups:
            for sname, desc, unit, higher, _ in group[4]:
                lines.append("")
                lines.append(f"[{fstype}] {sname}: {desc}  [{unit}, "
                             f"{'higher' if higher else 'lower'} is better]")
                nrec = results.get((fstype, sname, "native"))
                nsum = summarize(nrec, None) if nrec else None
                for system in systems:
                    rec = results.get((fstype, sname, system.name))
                    if rec is None:
                        continue
                    s = summarize(rec, nsum)
                    req = median_requests(rec["requests"]) if system.accounting else None
                    row = {"fs": fstype, "workload": sname, "description": desc,
                           "system": system.name, "unit": unit, "higher_is_better": higher,
                           "values": rec["values"], "status": "OK" if s else "FAIL",
                           "errors": rec["errors"]}
                    if s:
                        row.update(s)
                        if nsum and nsum["median"] > 0 and s["median"] > 0:
                            row["vs_native"] = (s["median"] / nsum["median"] if higher
                                                else nsum["median"] / s["median"])
                    if system.accounting:
                        row["requests_per_rep"] = rec["requests"]
                        row["requests_median"] = req
                        row["data_path_counters_per_rep"] = rec["counters"]
                        rtts = results.get((fstype, RTT_KEY, system.name), [])
                        if rtts:
                            row["round_trip_ns"] = statistics.median(rtts)
                        floor = (floor_value(unit, nsum["median"], req, row["round_trip_ns"],
                                             sizes)
                                 if s and nsum and rtts and nsum["median"] > 0 else None)
                        if floor:
                            row["floor"] = floor
                            row["floor_vs_native"] = nsum["median"] / floor
                            row["vs_floor"] = floor / s["median"]
                    rows.append(row)
                    if s:
                        vs = f"{row['vs_native']:.2f}" if "vs_native" in row else "-"
                        txt = (f"  {system.name:<13} {fmt(s['median']):>9}  "
                               f"{fmt(s['min']):>9}-{fmt(s['max']):<9} {vs:>6}")
                    else:
                        txt = f"  {system.name:<13} {'FAIL':>9}  {rec['errors'][0][:90]}"
                    if "floor" in row:
                        txt += f"  floor {row['floor_vs_native']:.2f}"
                    if req is not None and s:
                        top = "  ".join(f"{op} {c}" for op, c in list(req.items())[:6])
                        txt += f"  req: {top}" if top else "  req: none"
                    lines.append(txt)
    text = "\n".join(lines)
    print(text)
    base_name = os.path.join(out_dir, f"suite-{stamp}{'-quick' if args.quick else ''}")
    with open(base_name + ".json", "w") as f:
        json.dump({"meta": {"date": stamp, "commit": commit, "kernel": os.uname().release,
                            "host": socket.gethostname(), "reps": reps, "quick": args.quick,
                            "fs": fstypes, "sizes": sizes, "elapsed_s": round(elapsed, 1),
                            "ptfs_variants": PTFS_VARIANTS,
                            "pipe_pingpong_ns": host_floors,
                            "round_trip_ns": {f"{f}/{n}": v for (f, k, n), v in results.items()
                                              if k == RTT_KEY},
                            "data": {k: getattr(e, "info", None) for k, e in envs.items()}},
                   "rows": rows}, f, indent=1)
    with open(base_name + ".csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["fs", "workload", "system", "unit", "higher_is_better", "status", "median",
                    "min", "max", "vs_native", "floor_vs_native", "reps", "requests_median"])
        for r in rows:
            w.writerow([r["fs"], r["workload"], r["system"], r["unit"], r["higher_is_better"],
                        r["status"], r.get("median", ""), r.get("min", ""), r.get("max", ""),
                        r.get("vs_native", ""), r.get("floor_vs_native", ""), len(r["values"]),
                        " ".join(f"{op}={c}" for op, c in (r.get("requests_median") or {}).items())])
    with open(base_name + ".txt", "w") as f:
        f.write(text + "\n")
    # The picture (bench/plot.py): every row's ratio to native per system.
    why_no_plot = plot(base_name + ".json", base_name + ".png")
    if why_no_plot:
        log(f"no picture: {why_no_plot}")
    log(f"\nwrote {base_name}.json, .csv, .txt" + ("" if why_no_plot else " and .png"))
    return 0 if all(r["status"] == "OK" for r in rows) and not why_no_plot else 1


if __name__ == "__main__":
    sys.exit(main())
