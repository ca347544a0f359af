#!/usr/bin/env bash
# What a non-blocking lock request costs when the lock is free and when
# another open file description holds it (docs/transport.md "Lock requests
# and earlier closes": over io_uring a conflict first waits for the other
# queues). `metabench getlkfree` / `getlkheld` (F_OFD_GETLK, 5,000 calls) on a
# tmpfs SOURCE: native, passthroughfs over io_uring (default) and over
# /dev/fuse; ROUNDS alternating rounds. Each server runs in a session of its
# own, as deployed. Root only.
#   bench/lock_probe.sh [ROUNDS]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-3}
"$here/scripts/build.sh" passthroughfs bench/metabench >/dev/null
daemon=$here/build/passthroughfs
mb=$here/build/bench/metabench
base=$(mktemp -d /tmp/ptfs-lockprobe.XXXXXX)
mkdir "$base/src" "$base/mnt"
mount -t tmpfs -o size=16m tmpfs "$base/src"
. "$here/bench/lib.sh"
trap 'bench_cleanup; umount "$base/src"; rm -rf "$base"' EXIT
echo x > "$base/src/file"
ns() { "$@" | awk '{print $(NF-2)}'; }
measure() {  # label file
  printf '%-10s F_OFD_GETLK  lock free %8s ns   lock held %8s ns\n' "$1" \
    "$(ns "$mb" getlkfree "$2" 5000)" "$(ns "$mb" getlkheld "$2" 5000)"
}
mounted() {  # label command...
  local label=$1; shift
  bench_mount "$base/mnt" "$@"
  measure "$label" "$base/mnt/file"
  bench_umount "$base/mnt"; sleep 0.2
}
for r in $(seq "$rounds"); do
  echo "round $r"
  measure native "$base/src/file"
  mounted ptfs "$daemon" -f "$base/src" "$base/mnt"
  mounted ptfs-dev "$daemon" -f --transport=dev "$base/src" "$base/mnt"
done
