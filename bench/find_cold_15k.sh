#!/usr/bin/env bash
# Cold find over a 15,031-entry tree (the size of the independent run quoted
# in issue 22): native, ptfs and bindfs alternating, a fresh mount and
# drop_caches before each; ptfs's requests from `passthroughfs status`.
# Root only.  bench/find_cold_15k.sh tmpfs|ext4
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/build.sh" passthroughfs bench/metabench >/dev/null
d=$here/build/passthroughfs; mb=$here/build/bench/metabench
fs=$1  # tmpfs or ext4
base=$(mktemp -d /var/tmp/ptfs-f15.XXXXXX); mkdir $base/src $base/mnt
[ $fs = tmpfs ] && mount -t tmpfs tmpfs $base/src
trap 'umount -l $base/mnt 2>/dev/null || true; [ '$fs' = tmpfs ] && umount $base/src; rm -rf $base' EXIT
$mb mktree $base/src/tree 30 25 19 >/dev/null   # 1+30+750+14250 = 15031 entries
t() { local s=$(date +%s%N); find "$1" > /dev/null; echo $(( ($(date +%s%N)-s)/1000 )); }
# Context switches of all a daemon's threads (each sleep and wake-up is
# one), and how many threads it has.
switches() {  # pid
  local total=0 threads=0 n
  for f in /proc/$1/task/*/status; do
    n=$(awk '/^(voluntary|nonvoluntary)_ctxt_switches:/ {s += $2} END {print s}' "$f")
    total=$((total + n)); threads=$((threads + 1))
  done
  echo "$total $threads"
}
woken() {  # pid before-total: "N switches"
  local now; now=$(switches "$1"); echo "$(( ${now% *} - $2 )) switches (${now#* } threads)"
}
for r in 1 2 3; do
  sync; echo 3 > /proc/sys/vm/drop_caches; n=$(t $base/src/tree)
  $d $base/src $base/mnt >/dev/null 2>&1; echo 3 > /proc/sys/vm/drop_caches
  pid=$(pgrep -f "^$d $base/src") ; s0=$(switches $pid); p=$(t $base/mnt/tree); pw=$(woken $pid ${s0% *})
  req=$($d status $base/mnt | awk '/^opcode_(LOOKUP|READDIR|READDIRPLUS|OPENDIR|GETATTR):/ && $2>0 {printf "%s=%s ", substr($1,8), $2}')
  umount $base/mnt
  bindfs $base/src $base/mnt; echo 3 > /proc/sys/vm/drop_caches
  pid=$(pgrep -f "^bindfs $base/src"); s0=$(switches $pid); b=$(t $base/mnt/tree); bw=$(woken $pid ${s0% *})
  umount $base/mnt
  echo "round $r: native $n us | ptfs $p us, $pw ($req) | bindfs $b us, $bw"
done
