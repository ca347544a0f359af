"""The benchmark suite's systems (the ways of reaching SOURCE: native, the
kernel's stacking, the FUSE peers and the passthroughfs variants) and the
helpers they share with the driver, bench/suite.py."""

import os
import shutil
import signal
import subprocess
import sys
import time

# passthroughfs variants: (row name, daemon options). One line per variant.
# The default ("ptfs") runs over io_uring (the suite turns enable_uring on),
# with the source watch and its long cache timeouts.
PTFS_VARIANTS = [
    ("ptfs", []),
    ("ptfs-nocache", ["--nocache"]),
    ("ptfs-ptoff", ["--passthrough=off"]),
    ("ptfs-dev", ["--transport=dev"]),  # /dev/fuse instead of io_uring (docs/transport.md)
    ("ptfs-nowatch", ["--watch-source=off"]),  # 1 s timeouts, OPENDIR per listing
    ("ptfs-nopoll", ["--poll-us=0"]),  # queue threads sleep at once after a request
    # A policy module in front: name globs and a path glob that match none of
    # the workloads' files, so every name operation is checked (issue 19).
    ("ptfs-hide", ["--hide=*.key", "--hide=secret*", "--hide=build/*/cache"]),
    # The audit module writing a real file (on the same disk as /tmp): one
    # JSON line per change, every open's first write looked at at release.
    ("ptfs-audit", ["--audit=/tmp/ptfs-bench-audit.jsonl"]),
    # A read-only subtree none of the workloads touch (every change asks
    # where its node is), and an owner map no file is affected by (every
    # entry and caller translated, stat kept at the daemon).
    ("ptfs-ro", ["--read-only=elsewhere/frozen"]),
    ("ptfs-mapowner", ["--map-owner=4242:4343", "--map-group=4242:4343"]),
    # Both, with a read-only subtree and an owner map no file is affected by.
    ("ptfs-policies", ["--audit=/tmp/ptfs-bench-audit.jsonl", "--hide=*.key",
                       "--read-only=elsewhere/frozen", "--map-owner=4242:4343"]),
]

# Other systems: native SOURCE, kernel references, Debian FUSE peers.
OTHER_SYSTEMS = ["native", "bind", "overlay", "mergerfs", "bindfs"]

CMD_TIMEOUT = 900  # seconds; a step that takes longer FAILs


class StepFailed(Exception):
    pass


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(cmd, timeout=CMD_TIMEOUT, env=None, cwd=None):
    """Runs cmd; returns (stdout, seconds). Raises StepFailed on error."""
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                           env=env, cwd=cwd)
    except subprocess.TimeoutExpired:
        raise StepFailed(f"timeout after {timeout}s: {' '.join(cmd)}")
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        err = p.stderr.decode(errors="replace").strip().splitlines()
        raise StepFailed(f"exit {p.returncode}: {' '.join(cmd)}: {err[-1] if err else ''}")
    return p.stdout, dt


def drop_caches():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def is_mounted(path):
    path = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        for line in f:
            if line.split()[4].replace("\\040", " ") == path:
                return True
    return False


def count_tree(path):
    """(files, dirs, bytes) below path, read natively."""
    files = dirs = size = 0
    for root, ds, fs in os.walk(path):
        dirs += len(ds)
        for name in fs:
            files += 1
            size += os.lstat(os.path.join(root, name)).st_size
    return files, dirs, size


# ---------------------------------------------------------------- systems

class System:
    """One way of reaching SOURCE. mount() makes `path` show SOURCE."""
    accounting = False

    def __init__(self, name):
        self.name = name
        self.path = None

    def mount(self, env):
        raise NotImplementedError

    def umount(self, env):
        if self.path and is_mounted(self.path):
            try:
                run(["umount", self.path], timeout=60)
            except StepFailed:
                subprocess.run(["umount", "-l", self.path])
                raise
        self.path = None

    def snapshot(self):
        return None


class Native(System):
    def mount(self, env):
        self.path = env.source

    def umount(self, env):
        self.path = None


class Bind(System):
    def mount(self, env):
        run(["mount", "--bind", env.source, env.mnt])
        self.path = env.mnt


class Overlay(System):
    # Writable overlay whose upper layer IS SOURCE (lower: an empty dir, work
    # dir beside SOURCE on the same fs): every read and write reaches SOURCE's
    # own files, as with passthroughfs. Nothing changes SOURCE while it is
    # mounted (all preparation happens before mount).
    def mount(self, env):
        shutil.rmtree(env.ovl_work, ignore_errors=True)
        os.makedirs(env.ovl_work)
        run(["mount", "-t", "overlay", "overlay", "-o",
             f"lowerdir={env.ovl_lower},upperdir={env.source},workdir={env.ovl_work}", env.mnt])
        self.path = env.mnt


class FuseDaemon(System):
    """mergerfs / bindfs with their defaults."""

    def __init__(self, name, argv):
        super().__init__(name)
        self.argv = argv

    def mount(self, env):
        run(self.argv(env.source, env.mnt))
        deadline = time.time() + 10
        while not is_mounted(env.mnt):
            if time.time() > deadline:
                raise StepFailed(f"{self.name} did not mount")
            time.sleep(0.01)
        self.path = env.mnt

    def umount(self, env):
        super().umount(env)
        time.sleep(0.05)  # let the daemon exit


class Ptfs(System):
    accounting = True

    def __init__(self, name, options, daemon):
        super().__init__(name)
        self.options = options
        self.daemon = daemon
        self.proc = None

    def mount(self, env):
        self.stats = os.path.join(env.base, f"stats.{self.name}")
        self.logf = os.path.join(env.logs, f"{self.name}.log")
        # In a session of its own, as a daemon started by mount(8), systemd
        # or a shell is (and as bindfs and mergerfs put themselves): the
        # scheduler then keeps it in another group than the workload
        # (autogroup), which changes where callers are woken and costs a
        # round trip 2-3x here (docs/transport.md). -f only keeps the pid.
        with open(self.logf, "a") as lf:
            self.proc = subprocess.Popen(
                [self.daemon, "-f", f"--stats-file={self.stats}", *self.options, env.source, env.mnt],
                stdout=lf, stderr=lf, start_new_session=True)
        deadline = time.time() + 10
        while not is_mounted(env.mnt):
            if self.proc.poll() is not None:
                raise StepFailed(f"passthroughfs exited {self.proc.returncode} (log {self.logf})")
            if time.time() > deadline:
                raise StepFailed("passthroughfs did not mount")
            time.sleep(0.01)
        self.path = env.mnt

    def umount(self, env):
        try:
            super().umount(env)
        finally:
            if self.proc is not None:
                try:
                    rc = self.proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
                    rc = "killed"
                self.proc = None
                if rc != 0:
                    raise StepFailed(f"passthroughfs exit status {rc} after unmount (log {self.logf})")

    def snapshot(self):
        """The daemon's counters: {name: value}."""
        try:
            os.unlink(self.stats)
        except FileNotFoundError:
            pass
        os.kill(self.proc.pid, signal.SIGUSR1)
        deadline = time.time() + 10
        while not os.path.exists(self.stats):
            if time.time() > deadline:
                raise StepFailed("no stats file after SIGUSR1")
            time.sleep(0.005)
        out = {}
        with open(self.stats) as f:
            for line in f:
                k, v = line.split()
                out[k] = int(v)
        if not any(k.startswith("opcode_") for k in out):
            raise StepFailed("stats file has no opcode_* counters (daemon too old?)")
        return out


def make_systems(args):
    daemon = os.path.join(args.build_dir, "passthroughfs")
    table = {
        "native": Native("native"),
        "bind": Bind("bind"),
        "overlay": Overlay("overlay"),
        # minfreespace=0: the default (4G) makes every create fail ENOSPC on a
        # small tmpfs; it is a placement policy, not a performance setting.
        "mergerfs": FuseDaemon("mergerfs", lambda s, m: ["mergerfs", "-o", "minfreespace=0", s, m]),
        "bindfs": FuseDaemon("bindfs", lambda s, m: ["bindfs", s, m]),
    }
    for name, opts in PTFS_VARIANTS:
        table[name] = Ptfs(name, opts, daemon)
    order = ["native"] + [n for n, _ in PTFS_VARIANTS] + OTHER_SYSTEMS[1:]
    if getattr(args, "baseline", None):
        # Another build of passthroughfs with its defaults (suite --baseline).
        table["ptfs-baseline"] = Ptfs("ptfs-baseline", [], os.path.abspath(args.baseline))
        order.insert(1, "ptfs-baseline")
    if args.systems:
        wanted = args.systems.split(",")
        unknown = [w for w in wanted if w not in table]
        if unknown:
            sys.exit(f"unknown system(s) {unknown}; known: {order}")
        order = [n for n in order if n in wanted or n in ("native", "ptfs-baseline")]  # native: the ratios' base
    return [table[n] for n in order]
