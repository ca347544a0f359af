#!/usr/bin/env bash
# READDIRPLUS on cold trees (docs/coherence.md): for N rounds, with caches
# dropped and a fresh mount each time, times a name-only `find` over a
# 50,000-entry tree and `ls -l` of a 10,000-file directory, natively, with
# passthroughfs defaults (--readdirplus=auto: the ListingAdvisor), with
# --readdirplus=all and with --readdirplus=off, and prints the requests and
# listed entries each mount got. SOURCE lives under /var/tmp (ext4 here). Root only.
#   bench/readdirplus_cold.sh [ROUNDS]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-3}
"$here/scripts/build.sh" passthroughfs >/dev/null
daemon=$here/build/passthroughfs
. "$here/bench/lib.sh"
trap bench_cleanup EXIT
base=/var/tmp/ptfs-rdplus
mkdir -p "$base/src" "$base/mnt"
if [[ ! -d $base/src/tree ]]; then
  python3 - "$base/src" <<'PY'
import os, sys
b = sys.argv[1]
for a in range(25):
    for c in range(40):
        d = f"{b}/tree/d{a}/d{c}"
        os.makedirs(d)
        for f in range(48):
            open(f"{d}/f{f}", "w").close()
os.makedirs(f"{b}/flat")
for i in range(10000):
    open(f"{b}/flat/f{i}", "w").close()
PY
fi
seconds() { local s e; s=$(date +%s.%N); eval "$1" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }
cold() { sync; echo 3 > /proc/sys/vm/drop_caches; }
requests() {  # daemon pid -> the listing/lookup counters
  kill -USR1 "$1"; sleep 0.3
  grep -E "^(opcode_(READDIR|READDIRPLUS|LOOKUP)|listed_with_attributes|listed_files_bare) " "$base/stats" | tr '\n' ' '
}
measure() {  # label, command on the mount, daemon options...
  local label=$1 cmd=$2; shift 2
  bench_mount "$base/mnt" "$daemon" -f --stats-file="$base/stats" "$@" "$base/src" "$base/mnt"
  cold
  local t; t=$(seconds "$cmd")
  echo "  $label $t s  ($(requests "$BENCH_PID"))"
  bench_umount "$base/mnt"
}
for r in $(seq "$rounds"); do
  echo "round $r"
  cold; echo "  find native $(seconds "find $base/src/tree") s"
  measure "find ptfs" "find $base/mnt/tree"
  measure "find ptfs --readdirplus=all" "find $base/mnt/tree" --readdirplus=all
  measure "find ptfs --readdirplus=off" "find $base/mnt/tree" --readdirplus=off
  cold; echo "  ls -l native $(seconds "ls -l $base/src/flat") s"
  measure "ls -l ptfs" "ls -l $base/mnt/flat"
  measure "ls -l ptfs --readdirplus=all" "ls -l $base/mnt/flat" --readdirplus=all
  measure "ls -l ptfs --readdirplus=off" "ls -l $base/mnt/flat" --readdirplus=off
done
