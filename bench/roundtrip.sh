#!/usr/bin/env bash
# The price of one FUSE round trip on this machine, and of an open+close,
# for passthroughfs and bindfs against native (docs/benchmarks.md): a file on
# a tmpfs SOURCE; per system, `metabench xattrlat` (one GETXATTR round trip
# per call, answered without a host call by ptfs) and `metabench openlat`,
# with the caller pinned to CPU 0 and unpinned; ROUNDS alternating rounds.
# Each server runs in a session of its own, as deployed; BENCH_SAME_SESSION=1
# runs them in this script's session (docs/transport.md: the scheduler then
# treats daemon and caller as one group). Root only.
#
# With `locks`: what a non-blocking lock request costs when the lock is free
# and when another open file description holds it (`metabench getlkfree` /
# `getlkheld`, F_OFD_GETLK, 5,000 calls), native, passthroughfs over io_uring
# and over /dev/fuse (docs/transport.md "Lock requests and earlier closes":
# over io_uring a conflict first waits for the other queues).
#   [BENCH_SAME_SESSION=1] bench/roundtrip.sh [ROUNDS] [locks]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-2}
what=${2:-calls}
[[ $what == calls || $what == locks ]] || { echo "usage: $0 [ROUNDS] [locks]" >&2; exit 2; }
[[ $what == locks ]] || command -v bindfs >/dev/null ||
  { apt-get update -qq && apt-get install -y -qq bindfs >/dev/null; }
"$here/scripts/build.sh" passthroughfs bench/metabench >/dev/null
daemon=$here/build/passthroughfs
mb=$here/build/bench/metabench
base=$(mktemp -d /tmp/ptfs-roundtrip.XXXXXX)
mkdir "$base/src" "$base/mnt"
mount -t tmpfs -o size=16m tmpfs "$base/src"
. "$here/bench/lib.sh"
trap 'bench_cleanup; umount "$base/src"; rm -rf "$base"' EXIT
echo x > "$base/src/file"
ns() { "$@" | awk '{print $(NF-2)}'; }
measure() {  # label file
  if [[ $what == locks ]]; then
    printf '%-18s F_OFD_GETLK  lock free %8s ns   lock held %8s ns\n' "$1" \
      "$(ns "$mb" getlkfree "$2" 5000)" "$(ns "$mb" getlkheld "$2" 5000)"
    return
  fi
  printf '%-18s xattr %6s / %6s ns   open+close %6s / %6s ns   (pinned / unpinned)\n' "$1" \
    "$(ns taskset -c 0 "$mb" xattrlat "$2" 20000)" "$(ns "$mb" xattrlat "$2" 20000)" \
    "$(ns taskset -c 0 "$mb" openlat "$2" 20000)" "$(ns "$mb" openlat "$2" 20000)"
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
  [[ $what == calls ]] || continue
  mounted ptfs-lockskernel "$daemon" -f --locks=kernel "$base/src" "$base/mnt"
  mounted ptfs-nopoll "$daemon" -f --poll-us=0 "$base/src" "$base/mnt"
  mounted ptfs-poll100 "$daemon" -f --poll-us=100 "$base/src" "$base/mnt"
  mounted bindfs bindfs -f "$base/src" "$base/mnt"
done
