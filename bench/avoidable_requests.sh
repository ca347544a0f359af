#!/usr/bin/env bash
# Requests a setting could avoid (docs/request-cost.md): the directory GETATTR
# after each change under default_permissions, and the FLUSH of each close;
# 2000 creates+closes in one directory, counted from `passthroughfs status`.
# Root only.  bench/avoidable_requests.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/build.sh" passthroughfs >/dev/null
d=$here/build/passthroughfs
base=$(mktemp -d /tmp/ptfs-avoid.XXXXXX); mkdir $base/src $base/mnt
mount -t tmpfs tmpfs $base/src
trap 'umount -l $base/mnt 2>/dev/null; umount $base/src; rm -rf $base' EXIT
count() { $d status $base/mnt | awk -v k="$1:" '$1==k {print $2}'; }
run() { # label args...
  local label=$1; shift
  $d "$@" $base/src $base/mnt >/dev/null 2>&1
  mkdir $base/mnt/dir
  local g0=$(count opcode_GETATTR) f0=$(count opcode_FLUSH) c0=$(count opcode_CREATE) t0=$(date +%s%N)
  python3 - "$base/mnt/dir" <<'PY'
import os, sys
d = sys.argv[1]
for i in range(2000):
    fd = os.open(f"{d}/f{i}", os.O_CREAT | os.O_WRONLY, 0o644)
    os.close(fd)
PY
  local t1=$(date +%s%N)
  local g1=$(count opcode_GETATTR) f1=$(count opcode_FLUSH) c1=$(count opcode_CREATE)
  printf '%-34s creates %5d  GETATTR %5d  FLUSH %5d  %6.1f us per create+close\n' "$label" $((c1-c0)) $((g1-g0)) $((f1-f0)) $(echo "($t1-$t0)/2000/1000" | bc -l)
  umount $base/mnt; sleep 0.3; rm -rf $base/src/dir
}
for r in 1 2; do
run "default" 
run "--locks=kernel" --locks=kernel
run "-o nodefault_permissions" -o nodefault_permissions
done
t0=$(date +%s%N); python3 - "$base/src" <<'PY'
import os, sys
d = sys.argv[1] + "/n"; os.mkdir(d)
for i in range(2000):
    fd = os.open(f"{d}/f{i}", os.O_CREAT | os.O_WRONLY, 0o644); os.close(fd)
PY
t1=$(date +%s%N); printf 'native %6.1f us per create+close\n' $(echo "($t1-$t0)/2000/1000" | bc -l)
