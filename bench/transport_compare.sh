#!/usr/bin/env bash
# Per-request cost of the two transports: native vs passthroughfs over
# /dev/fuse vs passthroughfs over io_uring, both with --nocache
# --passthrough=off (every stat and every read reaches the daemon), mounted
# side by side and measured alternately in one run (order rotated per round).
#   bench/transport_compare.sh [ROUNDS]
# Workloads: 100k lstat over 10k files and `ls -l` of them (bench/tools/
# statstorm), fio 4 KiB random O_DIRECT reads at queue depth 1 (psync) and 16
# (libaio) on a 256 MiB file. Prints medians, min-max spread and ratios to
# native. Needs root (enables /sys/module/fuse/parameters/enable_uring) and fio.
set -euo pipefail
rounds=${1:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/build.sh" passthroughfs statstorm >/dev/null
command -v fio >/dev/null || { echo "fio is needed (apt-get install fio)" >&2; exit 1; }
cat /dev/fuse >/dev/null 2>&1 || true  # loads the fuse module
echo Y > /sys/module/fuse/parameters/enable_uring
daemon="$here/build/passthroughfs"
tool="$here/build/bench/statstorm"
work=$(mktemp -d /var/tmp/ptfs-transport-XXXXXX)
. "$here/bench/lib.sh"
trap 'bench_cleanup; rm -rf "$work"' EXIT
targets=(native dev uring)
for t in native dev uring; do
  src="$work/src-$t"
  mkdir -p "$src/files"
  (cd "$src/files" && seq 0 9999 | sed 's/^/f/' | xargs touch)
  head -c $((256 << 20)) /dev/urandom > "$src/data"
done
for t in dev uring; do
  mkdir -p "$work/mnt-$t"
  bench_mount "$work/mnt-$t" "$daemon" -f --nocache --passthrough=off --transport=$t \
    --stats-file="$work/stats-$t" "$work/src-$t" "$work/mnt-$t"
done
dir_of() { [[ $1 == native ]] && echo "$work/src-native" || echo "$work/mnt-$1"; }
fio_iops() {  # DIR DEPTH
  local engine=psync
  [[ $2 -gt 1 ]] && engine=libaio
  fio --name=rr --filename="$1/data" --rw=randread --bs=4k --direct=1 --ioengine=$engine \
    --iodepth="$2" --time_based --runtime=8 --size=256M --output-format=terse 2>/dev/null |
    awk -F';' '{print $8}'
}
declare -A res
for ((r = 0; r < rounds; r++)); do
  for ((k = 0; k < 3; k++)); do
    t=${targets[$(((r + k) % 3))]}
    d=$(dir_of "$t")
    read -r _ s _ l _ _ _ _ < <("$tool" "$d/files" 10000 10)
    res[$t,stat]+="$s "
    res[$t,ls]+="$l "
    res[$t,qd1]+="$(fio_iops "$d" 1) "
    res[$t,qd16]+="$(fio_iops "$d" 16) "
  done
done
median() { printf '%s\n' $1 | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
spread() { printf '%s\n' $1 | sort -g | awk 'NR==1{lo=$1} {hi=$1} END {printf "%s-%s", lo, hi}'; }
printf '%-32s %-7s %11s %22s %8s %8s\n' workload target median spread /native /dev
for w in stat ls qd1 qd16; do
  case $w in
    stat) name="100k lstat / 10k files (s)" ;;
    ls) name="ls -l of 10k entries (s)" ;;
    qd1) name="4k randread O_DIRECT qd1 (IOPS)" ;;
    qd16) name="4k randread O_DIRECT qd16 (IOPS)" ;;
  esac
  n=$(median "${res[native,$w]}")
  dv=$(median "${res[dev,$w]}")
  for t in native dev uring; do
    m=$(median "${res[$t,$w]}")
    printf '%-32s %-7s %11s %22s %8.2f %8.2f\n' "$name" "$t" "$m" "$(spread "${res[$t,$w]}")" \
      "$(awk -v a="$n" -v b="$m" 'BEGIN { print b / a }')" \
      "$(awk -v a="$dv" -v b="$m" 'BEGIN { print b / a }')"
  done
done
# Prove the uring mount ran over the rings.
kill -USR1 "${bench_pids[$work/mnt-uring]}"; sleep 0.5
grep -E '^(transport_uring|requests_via_dev|requests_via_uring|uring_entries) ' "$work/stats-uring" |
  tr '\n' ' '
echo
echo "(median of $rounds rounds, targets alternating, same run; ratios = target / native and"
echo " target / dev: seconds for stat/ls (higher is slower), IOPS for fio (lower is slower)."
echo " fio's O_DIRECT bypasses only the FUSE page cache: the daemon reads SOURCE through"
echo " its page cache, native O_DIRECT goes to the disk, so /dev is the fair comparison there)"
