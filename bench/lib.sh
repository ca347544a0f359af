# Mounting and unmounting for the bench scripts (sourced): one way to start a
# FUSE server, wait for its mount, stop it and clean up after a failure.
#   bench_mount MOUNTPOINT COMMAND...  runs COMMAND (a server in the
#       foreground, e.g. passthroughfs -f or bindfs -f) in the background
#       in a session of its own,
#       waits up to 10 s for MOUNTPOINT to be mounted; BENCH_PID is its pid
#   bench_umount MOUNTPOINT            unmounts and waits for the server
#   bench_cleanup                      lazily unmounts what is left (trap EXIT)

declare -A bench_pids=()
BENCH_PID=

bench_mount() {
  local mnt=$1; shift
  # A session of its own, as a deployed daemon has (its own scheduling
  # autogroup: docs/transport.md); a background job of a script is not a
  # group leader, so setsid runs COMMAND itself (-w: or waits for it).
  # BENCH_SAME_SESSION=1 keeps it in the caller's session instead (the
  # comparison docs/transport.md makes).
  if [[ ${BENCH_SAME_SESSION:-0} == 1 ]]; then
    "$@" >/dev/null 2>&1 &
  else
    setsid -w "$@" >/dev/null 2>&1 &
  fi
  BENCH_PID=$!
  bench_pids[$mnt]=$BENCH_PID
  local _
  for _ in $(seq 200); do
    mountpoint -q "$mnt" && return 0
    kill -0 "$BENCH_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "bench: $* did not mount $mnt" >&2
  return 1
}

bench_umount() {
  local mnt=$1 pid=${bench_pids[$1]:-}
  umount "$mnt"
  if [[ -n $pid ]]; then wait "$pid" || true; fi
  unset "bench_pids[$mnt]"
}

bench_cleanup() {
  local mnt
  for mnt in "${!bench_pids[@]}"; do umount -l "$mnt" 2>/dev/null || true; done
  bench_pids=()
}
