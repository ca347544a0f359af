# Shared helpers for the scripted acceptance tests (sourced, not run).
#
# Every test script is run by CTest as:  bash TEST.sh DAEMON SOURCE_DIR
# and exits 0 (pass), 77 (skipped: not root, no /dev/fuse, ...) or anything
# else (fail, with a "FAIL:" line saying why).
#
# setup_test creates $TMP (under /tmp) and installs an EXIT trap that, whatever
# happens, lazily unmounts every mount under $TMP, stops every passthroughfs
# whose command line names a path under $TMP, runs the commands queued with
# at_cleanup, and removes $TMP.
#
# Rule for the scripts: never put a redirection on a shell function call or a
# { } / while / for block ("f >file"): bash runs a signal's trap (and so the
# cleanup) inside such a command with its redirections still applied, so the
# cleanup's messages would vanish into that file. Redirect inside the
# function on a ( ) subshell or an external command instead.

set -euo pipefail

TEST_NAME=$(basename "$0" .sh)
TMP=
CLEANUP_CMDS=()

log() { printf '[%s] %s\n' "$TEST_NAME" "$*"; }
fail() {
  printf '[%s] FAIL: %s\n' "$TEST_NAME" "$*" >&2
  exit 1
}
skip() {
  printf '[%s] SKIP: %s\n' "$TEST_NAME" "$*"
  exit 77
}

# Seconds since the epoch with nanoseconds, and elapsed seconds since $1.
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# Checks the two standard arguments and the environment; sets DAEMON,
# DAEMON_REAL and SOURCE_DIR.
parse_args() {
  [[ $# -ge 2 ]] || fail "usage: $0 PATH/TO/passthroughfs SOURCE_DIR"
  DAEMON=$1
  SOURCE_DIR=$2
  [[ -x $DAEMON ]] || fail "daemon '$DAEMON' is not an executable file"
  DAEMON_REAL=$(readlink -f "$DAEMON")
  [[ -d $SOURCE_DIR ]] || fail "source dir '$SOURCE_DIR' is not a directory"
  [[ $(id -u) -eq 0 ]] || skip "needs root (mounts with mount(2), mount(8), setpriv)"
  [[ -c /dev/fuse ]] || skip "no /dev/fuse"
}

setup_test() {
  TMP=$(mktemp -d "/tmp/ptfs-$TEST_NAME.XXXXXX")
  chmod 755 "$TMP"
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM HUP
}

at_cleanup() { CLEANUP_CMDS+=("$1"); }

# Mount points (one per line) at or under directory $1, deepest first.
mounts_under() {
  awk -v p="$1" '$5 == p || index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

is_mounted() { awk -v m="$1" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo; }

# The fstype and the per-mount and per-superblock options of mount point $1.
mount_info() { awk -v m="$1" '$5 == m { for (i = 7; $i != "-"; i++); print $(i+1), $6, $(i+3) }' /proc/self/mountinfo; }

# True while $1 is a live (not zombie) process.
alive() {
  local state
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [[ -n $state && $state != Z ]]
}

# PIDs of live processes running $DAEMON_REAL with an argument equal to $1 or,
# with a trailing "/", starting with $1 (daemons, not their unmount guards).
daemon_pids() {
  local want=$1 p exe
  for p in /proc/[0-9]*; do
    exe=$(readlink "$p/exe" 2>/dev/null) || continue
    [[ $exe == "$DAEMON_REAL" ]] || continue
    # Not the -o auto_unmount guard (the same executable under another name).
    [[ $(tr '\0' '\n' <"$p/cmdline" 2>/dev/null | head -1) != passthroughfs-unmount-guard ]] || continue
    if tr '\0' '\n' <"$p/cmdline" 2>/dev/null |
      awk -v w="$want" 'substr(w, length(w)) == "/" ? index($0, w) == 1 : $0 == w { f = 1 } END { exit !f }'; then
      echo "${p#/proc/}"
    fi
  done
}

# The single daemon serving mount point $1 (fails if there is not exactly one).
daemon_pid_for() {
  local pids
  pids=$(daemon_pids "$1")
  [[ -n $pids ]] || fail "no passthroughfs process found for $1"
  [[ $(wc -l <<<"$pids") -eq 1 ]] || fail "several passthroughfs processes for $1: ${pids//$'\n'/ }"
  echo "$pids"
}

# wait_gone PID SECONDS: true once PID has exited (or is a zombie).
wait_gone() {
  local deadline=$((SECONDS + $2))
  while alive "$1"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# wait_mounted MOUNTPOINT SECONDS [PID]: true once mounted; false on timeout
# or, if PID is given, as soon as that process has died.
wait_mounted() {
  local deadline=$((SECONDS + $2))
  until is_mounted "$1"; do
    if [[ -n ${3:-} ]] && ! alive "$3"; then return 1; fi
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}

cleanup() {
  local rc=$? m p i
  set +e
  trap - EXIT INT TERM HUP
  if [[ -n $TMP ]]; then
    for m in $(mounts_under "$TMP"); do
      log "cleanup: umount -l $m"
      umount -l "$m" 2>/dev/null || fusermount3 -u -z "$m" 2>/dev/null
    done
    for p in $(daemon_pids "$TMP/"); do
      log "cleanup: stopping leftover daemon $p"
      kill -TERM "$p" 2>/dev/null
    done
    for p in $(daemon_pids "$TMP/"); do
      wait_gone "$p" 5 || kill -KILL "$p" 2>/dev/null
    done
  fi
  for ((i = ${#CLEANUP_CMDS[@]} - 1; i >= 0; i--)); do
    eval "${CLEANUP_CMDS[i]}"
  done
  if [[ -n $TMP && -d $TMP ]]; then
    if [[ -z $(mounts_under "$TMP") ]]; then
      rm -rf --one-file-system "$TMP"
    else
      log "cleanup: mounts remain under $TMP; not removing it"
      rc=1
    fi
  fi
  if ((rc == 0)); then
    log "PASS"
  elif ((rc == 77)); then
    :
  else
    log "FAILED (exit $rc)"
  fi
  exit "$rc"
}
