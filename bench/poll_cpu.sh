#!/usr/bin/env bash
# What polling after a request (--poll-us, docs/transport.md) costs in CPU:
# the daemon's CPU time (user + system, all threads, in ms) with polling off
# (--poll-us=0) and at the default, while idle, during 20,000 back-to-back
# GETXATTR round trips, during a 512 MiB read through the daemon
# (--passthrough=off: every READ is a request) and during the same read with
# kernel passthrough (no request at all). SOURCE on tmpfs; the daemon in a
# session of its own, as deployed. Root only.
#   bench/poll_cpu.sh [ROUNDS]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-2}
"$here/scripts/build.sh" passthroughfs bench/metabench >/dev/null
daemon=$here/build/passthroughfs
mb=$here/build/bench/metabench
base=$(mktemp -d /tmp/ptfs-pollcpu.XXXXXX)
mkdir "$base/src" "$base/mnt"
mount -t tmpfs -o size=700m tmpfs "$base/src"
. "$here/bench/lib.sh"
trap 'bench_cleanup; umount "$base/src"; rm -rf "$base"' EXIT
echo x > "$base/src/file"
dd if=/dev/urandom of="$base/src/big" bs=1M count=512 status=none
tick_ms=$((1000 / $(getconf CLK_TCK)))
cpu_ms() {  # pid: user+system time of all its threads so far, ms
  awk -v t="$tick_ms" '{sub(/.*\) /, ""); split($0, f, " "); print (f[12] + f[13]) * t}' "/proc/$1/stat"
}
measure() {  # label: prints one line
  local label=$1 c0 c1 x read_s
  sleep 0.5; c0=$(cpu_ms "$BENCH_PID"); sleep 3; c1=$(cpu_ms "$BENCH_PID")
  local idle=$((c1 - c0))
  c0=$(cpu_ms "$BENCH_PID"); x=$("$mb" xattrlat "$base/mnt/file" 20000 | awk '{printf "%.1f", $(NF-2)/1000}')
  c1=$(cpu_ms "$BENCH_PID"); local meta=$((c1 - c0))
  c0=$(cpu_ms "$BENCH_PID")
  local t0; t0=$(date +%s%N)
  dd if="$base/mnt/big" of=/dev/null bs=128k status=none
  read_s=$(awk -v n=$(( $(date +%s%N) - t0 )) 'BEGIN {print n / 1e9}')
  c1=$(cpu_ms "$BENCH_PID")
  printf '%-22s idle 3 s: %4s ms | 20k xattr: %5s us each, daemon %5s ms | 512 MiB read: %5s MiB/s, daemon %5s ms\n' \
    "$label" "$idle" "$x" "$meta" "$(awk -v s="$read_s" 'BEGIN {printf "%.0f", 512 / s}')" "$((c1 - c0))"
}
for r in $(seq "$rounds"); do
  echo "round $r"
  for poll in 0 200; do
    for pt in auto off; do
      echo 3 > /proc/sys/vm/drop_caches
      bench_mount "$base/mnt" "$daemon" -f --poll-us=$poll --passthrough=$pt "$base/src" "$base/mnt"
      measure "poll-us=$poll passthrough=$pt"
      bench_umount "$base/mnt"; sleep 0.2
    done
  done
done
