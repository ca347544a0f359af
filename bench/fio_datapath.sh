#!/usr/bin/env bash
# Data-path benchmark: fio on native SOURCE vs passthroughfs with kernel
# passthrough on (auto) and off (served by the daemon), alternating targets
# in every round so all three see the same machine state. Prints throughput
# ratios to native (median of the rounds); absolute numbers are for context
# only.
#
#   bench/fio_datapath.sh [ROUNDS]      (root; builds the daemon if needed)
#
# Jobs: sequential read and write of a 1 GiB file with 1 MiB blocks, random
# 4 KiB reads and writes (time based). Buffered I/O with a warm page cache in
# SOURCE, so the numbers show the cost of the FUSE path itself rather than the
# disk; psync, one job, queue depth 1. The read jobs read a file no job
# writes; `seqread_cold` first touches that file in SOURCE, so passthroughfs
# must drop whatever its kernel cache held (the served path then refills it
# through the daemon), while native reads its warm cache.
set -euo pipefail
rounds=${1:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
command -v fio >/dev/null || { apt-get update -qq && apt-get install -y -qq fio >/dev/null; }
"$here/scripts/build.sh" passthroughfs >/dev/null
daemon="$here/build/passthroughfs"

work=$(mktemp -d /var/tmp/ptfs-bench-XXXXXX)
. "$here/bench/lib.sh"
trap 'bench_cleanup; rm -rf "$work"' EXIT

mkdir -p "$work/native" "$work/src-auto" "$work/src-off" "$work/mnt-auto" "$work/mnt-off"
bench_mount "$work/mnt-auto" "$daemon" -f --passthrough=auto "$work/src-auto" "$work/mnt-auto"
bench_mount "$work/mnt-off" "$daemon" -f --passthrough=off "$work/src-off" "$work/mnt-off"

declare -A dirs=([native]="$work/native" [auto]="$work/mnt-auto" [off]="$work/mnt-off")
declare -A srcs=([native]="$work/native" [auto]="$work/src-auto" [off]="$work/src-off")
targets=(native auto off)
jobs=(seqread seqread_cold seqwrite seqwrite_fsync randread randwrite)

# fio --minimal (terse v3): field 7 = read KiB/s, field 48 = write KiB/s.
run_job() {  # job dir -> KiB/s
  local job=$1 dir=$2 common="--ioengine=psync --numjobs=1 --iodepth=1 --minimal --group_reporting --invalidate=0"
  local out
  case $job in
    seqread|seqread_cold)
               out=$(fio --name=r --filename="$dir/data" --rw=read --bs=1M --size=1G $common) ;;
    seqwrite)  out=$(fio --name=w --filename="$dir/wdata" --rw=write --bs=1M --size=1G $common) ;;
    # Buffered writes without a flush are dominated by the host's dirty-page
    # throttling (native alone varies several-fold between identical runs);
    # writing the 1 GiB durably (fsync at the end) is the stable measure.
    seqwrite_fsync)
               out=$(fio --name=wf --filename="$dir/wdata" --rw=write --bs=1M --size=1G \
                         --end_fsync=1 $common) ;;
    randread)  out=$(fio --name=rr --filename="$dir/data" --rw=randread --bs=4k --size=1G \
                         --time_based --runtime=4 $common) ;;
    randwrite) out=$(fio --name=rw --filename="$dir/rwdata" --rw=randwrite --bs=4k --size=1G \
                         --time_based --runtime=4 $common) ;;
  esac
  case $job in
    seqread*|randread) echo "$out" | awk -F';' '{print $7}' ;;
    *)                 echo "$out" | awk -F';' '{print $48}' ;;
  esac
}

for t in "${targets[@]}"; do  # lay out the 1 GiB files and warm SOURCE's cache
  for f in data rwdata; do
    fio --name=prep --filename="${dirs[$t]}/$f" --rw=write --bs=1M --size=1G --minimal >/dev/null
  done
  cat "${srcs[$t]}/data" >/dev/null
done

declare -A results
for ((r = 1; r <= rounds; r++)); do
  # Rotate the order each round so no target always runs first or last.
  order=("${targets[@]:r%3}" "${targets[@]:0:r%3}")
  for job in "${jobs[@]}"; do
    for t in "${order[@]}"; do
      rm -f "${dirs[$t]}/wdata"
      [[ $job == seqread_cold ]] && touch "${srcs[$t]}/data"
      sync  # start every job with no dirty pages left by the previous one
      v=$(run_job "$job" "${dirs[$t]}")
      results[$job.$t]+="$v "
    done
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '%-14s %12s %12s %12s %10s %10s\n' job native_MiB/s auto_MiB/s off_MiB/s auto/nat off/nat
for job in "${jobs[@]}"; do
  n=$(echo "${results[$job.native]}" | median)
  a=$(echo "${results[$job.auto]}" | median)
  o=$(echo "${results[$job.off]}" | median)
  awk -v j="$job" -v n="$n" -v a="$a" -v o="$o" 'BEGIN {
    printf "%-14s %12.0f %12.0f %12.0f %10.2f %10.2f\n", j, n/1024, a/1024, o/1024, a/n, o/n }'
done
echo "($rounds rounds, median; ratios are passthroughfs / native, same run)"
