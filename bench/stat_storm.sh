#!/usr/bin/env bash
# Metadata benchmark for the served path: 100,000 lstat over 10,000 files,
# readdir + lstat of every entry of that directory, and coreutils `ls -l` of
# it (which adds two getxattr calls per file), native vs
# passthroughfs with the given options (default --nocache), alternating in one
# run. Prints seconds (median of ROUNDS) and ratios to native.
#   bench/stat_storm.sh [ROUNDS] [passthroughfs options...]
set -euo pipefail
rounds=${1:-3}
shift || true
opts=("$@")
[[ ${#opts[@]} -eq 0 ]] && opts=(--nocache)
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/build.sh" passthroughfs statstorm >/dev/null
work=$(mktemp -d /var/tmp/ptfs-stat-XXXXXX)
. "$here/bench/lib.sh"
trap 'bench_cleanup; rm -rf "$work"' EXIT
mkdir -p "$work/native" "$work/src" "$work/mnt"
for d in native src; do (cd "$work/$d" && seq 0 9999 | sed 's/^/f/' | xargs touch); done
bench_mount "$work/mnt" "$here/build/passthroughfs" -f "${opts[@]}" "$work/src" "$work/mnt"
tool="$here/build/bench/statstorm"
# The real `ls -l` (coreutils) also reads each file's ACL and SELinux label
# (two getxattr calls per file): seconds for one run.
ls_l() {
  local t0 t1
  t0=$(date +%s.%N)
  ls -l "$1" >/dev/null
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }'
}
declare -a ns nl ms ml nr mr
for ((r = 0; r < rounds; r++)); do
  read -r _ s _ l _ _ _ _ < <("$tool" "$work/native" 10000 10); ns+=("$s"); nl+=("$l")
  read -r _ s _ l _ _ _ _ < <("$tool" "$work/mnt" 10000 10); ms+=("$s"); ml+=("$l")
  nr+=("$(ls_l "$work/native")"); mr+=("$(ls_l "$work/mnt")")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
n1=$(median "${ns[@]}"); n2=$(median "${nl[@]}"); m1=$(median "${ms[@]}"); m2=$(median "${ml[@]}")
n3=$(median "${nr[@]}"); m3=$(median "${mr[@]}")
printf '%-28s %10s %10s %8s\n' workload native_s mount_s ratio
awk -v a="$n1" -v b="$m1" 'BEGIN { printf "%-28s %10.4f %10.4f %8.1f\n", "100k lstat / 10k files", a, b, b/a }'
awk -v a="$n2" -v b="$m2" 'BEGIN { printf "%-28s %10.4f %10.4f %8.1f\n", "readdir+lstat of 10k", a, b, b/a }'
awk -v a="$n3" -v b="$m3" 'BEGIN { printf "%-28s %10.4f %10.4f %8.1f\n", "ls -l of 10k (coreutils)", a, b, b/a }'
echo "(options: ${opts[*]}; median of $rounds rounds, same run)"
