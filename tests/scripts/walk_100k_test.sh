#!/usr/bin/env bash
# 100,000-entry walk: builds 100 dirs x 1000 small files (distinct contents)
# in SOURCE, mounts it and, through the mount, stats every entry and reads
# every file. The listing (path, type, size, link count) and an md5 of all
# contents in path order must equal SOURCE's. Meanwhile the daemon's open fd
# count is sampled: it must stay under the 20,000 RLIMIT_NOFILE of the test
# machine (inodes are held by file handle with a bounded O_PATH fd cache),
# and nothing may report an error (EMFILE or otherwise).
#
# Two rounds: default options, then --nocache --fd-cache=256 (every stat goes
# to the server, and the fd cache must evict; its bound is asserted too).
#
#   bash walk_100k_test.sh PATH/TO/passthroughfs SOURCE_DIR
#   env: PTFS_WALK_DIRS (100), PTFS_WALK_FILES (1000) to resize the tree.

source "$(dirname "$0")/lib.sh"
parse_args "$@"
setup_test

DIRS=${PTFS_WALK_DIRS:-100}
FILES=${PTFS_WALK_FILES:-1000}
FD_LIMIT=20000
SRC=$TMP/src
MNT=$TMP/mnt
mkdir "$SRC" "$MNT"

t0=$(now)
for ((d = 0; d < DIRS; d++)); do
  mkdir "$SRC/d$d"
  for ((f = 0; f < FILES; f++)); do
    printf 'dir %d file %d\n' "$d" "$f" >"$SRC/d$d/f$f"
  done
done
log "created $DIRS dirs x $FILES files in $(since "$t0") s"

# listing DIR OUT ERR: one sorted line per entry below DIR (path, type,
# link count, size for files: directory sizes are the host filesystem's
# business) into OUT, errors into ERR. (Redirections sit on the subshell, not
# on the function call: see lib.sh.)
listing() { (cd "$1" && find . -mindepth 1 -printf '%P %y %n %s\n' | awk '$2 == "d" { $4 = "-" } 1' | LC_ALL=C sort) >"$2" 2>"$3"; }
content_md5() { (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 cat | md5sum | cut -d' ' -f1); }

listing "$SRC" "$TMP/src.list" "$TMP/src.err" || fail "find on SOURCE failed: $(head -5 "$TMP/src.err")"
want_entries=$(wc -l <"$TMP/src.list")
want_md5=$(content_md5 "$SRC")
((want_entries == DIRS * FILES + DIRS)) || fail "SOURCE has $want_entries entries, expected $((DIRS * FILES + DIRS))"
log "SOURCE: $want_entries entries, contents md5 $want_md5"

# fd_count PID: open fds of PID, without forking.
fd_count() {
  local fds=("/proc/$1/fd/"*)
  [[ -e ${fds[0]} ]] && echo "${#fds[@]}" || echo 0
}

# walk_round NAME FD_BOUND DAEMON_OPTIONS...
walk_round() {
  local name=$1 bound=$2 pid sampler rc t1 entries got_md5 max base
  shift 2
  "$DAEMON" -f "$@" "$SRC" "$MNT" 2>"$TMP/$name.log" &
  pid=$!
  wait_mounted "$MNT" 10 "$pid" || fail "$name: not mounted after 10 s: $(cat "$TMP/$name.log")"
  base=$(fd_count "$pid")

  # Sample the fd count every 50 ms until $TMP/$name.stop appears.
  (
    max=0
    while [[ ! -e $TMP/$name.stop ]] && alive "$pid"; do
      n=$(fd_count "$pid")
      ((n > max)) && max=$n && echo "$max" >"$TMP/$name.maxfd"
      sleep 0.05
    done
  ) &
  sampler=$!

  t1=$(now)
  listing "$MNT" "$TMP/$name.list" "$TMP/$name.err" || fail "$name: find (stat walk) failed: $(head -5 "$TMP/$name.err")"
  local t_stat
  t_stat=$(since "$t1")
  t1=$(now)
  got_md5=$(content_md5 "$MNT" 2>>"$TMP/$name.err") || fail "$name: read walk failed: $(head -5 "$TMP/$name.err")"
  local t_read
  t_read=$(since "$t1")
  local after
  after=$(fd_count "$pid")

  touch "$TMP/$name.stop"
  wait "$sampler" || true
  max=$(cat "$TMP/$name.maxfd" 2>/dev/null || echo "$base")
  ((after > max)) && max=$after

  umount "$MNT" || fail "$name: umount failed"
  wait_gone "$pid" 20 || fail "$name: daemon still running 20 s after umount"
  set +e
  wait "$pid"
  rc=$?
  set -e

  entries=$(wc -l <"$TMP/$name.list")
  log "$name: entries $entries (want $want_entries), stat walk ${t_stat} s, read walk ${t_read} s," \
    "daemon fds: at start $base, max $max, after walk $after (bound $bound)"
  if [[ -s $TMP/$name.err ]]; then fail "$name: errors during the walk: $(head -5 "$TMP/$name.err")"; fi
  local bad='EMFILE|too many open files|: error: |: warning: '
  if grep -qiE "$bad" "$TMP/$name.log"; then
    fail "$name: daemon logged problems: $(grep -iE "$bad" "$TMP/$name.log" | head -5)"
  fi
  ((rc == 0)) || fail "$name: daemon exit status $rc; log: $(tail -5 "$TMP/$name.log")"
  ((entries == want_entries)) || fail "$name: $entries entries through the mount, $want_entries in SOURCE"
  if ! cmp -s "$TMP/src.list" "$TMP/$name.list"; then
    fail "$name: listing differs from SOURCE: $(diff "$TMP/src.list" "$TMP/$name.list" | head -5)"
  fi
  [[ $got_md5 == "$want_md5" ]] || fail "$name: contents md5 $got_md5 through the mount, $want_md5 in SOURCE"
  ((max < FD_LIMIT)) || fail "$name: daemon had $max fds open (limit $FD_LIMIT)"
  ((max <= bound)) || fail "$name: daemon had $max fds open, above the expected bound $bound"
}

# Slack over the fd cache for the device, log, per-thread and open-file fds.
SLACK=64
default_slots=$("$DAEMON" --help | sed -n 's/.*--fd-cache=N.*(default \([0-9][0-9]*\)).*/\1/p')
[[ -n $default_slots ]] || default_slots=$((FD_LIMIT - SLACK - 1))
walk_round default $((default_slots + SLACK))
walk_round nocache-fdcache256 $((256 + SLACK)) --nocache --fd-cache=256
