#!/usr/bin/env bash
# The requests each FUSE server is sent for the same work, counted by the
# kernel itself (tracepoint fuse:fuse_request_send, Linux 6.16+), so that
# servers with no counters of their own (bindfs, mergerfs) can be compared
# with passthroughfs request by request. Work, on a fresh mount over a tmpfs
# SOURCE: 1,000 open+close of one file; a cold `find` of a 1+10+100+1000
# entry tree; `ls -l` of a 1,000-file directory. Root only.
#   bench/peer_requests.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
for p in bindfs mergerfs; do
  command -v $p >/dev/null || { apt-get update -qq && apt-get install -y -qq bindfs mergerfs >/dev/null; }
done
"$here/scripts/build.sh" passthroughfs bench/metabench >/dev/null
daemon=$here/build/passthroughfs
mb=$here/build/bench/metabench
T=/sys/kernel/tracing
mountpoint -q $T || mount -t tracefs nodev $T
[[ -d $T/events/fuse ]] || { echo "this kernel has no fuse tracepoints (Linux 6.16+)" >&2; exit 1; }
base=$(mktemp -d /tmp/ptfs-peerreq.XXXXXX)
mkdir "$base/src" "$base/mnt"
mount -t tmpfs -o size=64m tmpfs "$base/src"
. "$here/bench/lib.sh"
old_buf=$(cat $T/buffer_size_kb)
trap 'echo 0 > $T/events/fuse/fuse_request_send/enable; echo "$old_buf" > $T/buffer_size_kb
      bench_cleanup; umount "$base/src"; rm -rf "$base"' EXIT
echo 32768 > $T/buffer_size_kb
echo x > "$base/src/file"
"$mb" mktree "$base/src/tree" 10 10 10 >/dev/null
mkdir "$base/src/flat"; for i in $(seq 1000); do : > "$base/src/flat/f$i"; done
counted() {  # work-label command...: the requests COMMAND caused, by opcode
  local label=$1; shift
  echo > $T/trace; echo 1 > $T/events/fuse/fuse_request_send/enable
  "$@" >/dev/null
  echo 0 > $T/events/fuse/fuse_request_send/enable
  printf '  %-12s %s\n' "$label" "$(grep -o '(FUSE_[A-Z_0-9]*)' $T/trace | tr -d '()' | sed 's/FUSE_//' |
    sort | uniq -c | sort -rn | awk '{printf "%s %s  ", $2, $1}')"
}
system() {  # label command...
  local label=$1; shift
  echo "$label"
  for work in open-close find-cold ls-l; do
    bench_mount "$base/mnt" "$@"
    case $work in
      open-close) stat "$base/mnt/file" >/dev/null; counted "open-close x1100" "$mb" openlat "$base/mnt/file" 1000 ;;
      find-cold) echo 3 > /proc/sys/vm/drop_caches; counted "$work" find "$base/mnt/tree" ;;
      ls-l) counted "$work" ls -l "$base/mnt/flat" ;;
    esac
    bench_umount "$base/mnt"; sleep 0.2
  done
}
system ptfs "$daemon" -f "$base/src" "$base/mnt"
system "ptfs --locks=kernel" "$daemon" -f --locks=kernel "$base/src" "$base/mnt"
system bindfs bindfs -f "$base/src" "$base/mnt"
system mergerfs mergerfs -f -o minfreespace=0 "$base/src" "$base/mnt"
