#!/usr/bin/env bash
# `passthroughfs status MOUNTPOINT` (issue 20): the running daemon of a mount
# reports its version, pid, options, what INIT negotiated and every counter,
# as key: value lines and as JSON; only root and the mounting user may read
# it (a root mount and an unprivileged one, each asked by root, by the owner
# and by a third user); a name held by someone else is not trusted; clear
# one-line errors for a path that is not a mount, a mount of another kind
# and a dead daemon; kill -USR1 still writes the stats file.
#
#   bash status_test.sh PATH/TO/passthroughfs SOURCE_DIR
source "$(dirname "$0")/lib.sh"
parse_args "$@"
setup_test

OWNER=65534 OTHER=65533
# Commands run as these users (arrays: `run` runs them under timeout(1)).
AS_OWNER=(setpriv --reuid=$OWNER --regid=$OWNER --clear-groups)
AS_OTHER=(setpriv --reuid=$OTHER --regid=$OTHER --clear-groups)

# run CMD...: $OUT, $ERR, $RC.
run() {
  set +e
  timeout 30 "$@" >"$TMP/out" 2>"$TMP/err"
  RC=$?
  set -e
  OUT=$(cat "$TMP/out") ERR=$(cat "$TMP/err")
}

# expect_refusal WHAT PATTERN CMD...: exit 1, one stderr line matching.
expect_refusal() {
  local what=$1 pattern=$2
  shift 2
  run "$@"
  ((RC == 1)) || fail "$what: exit $RC (want 1); out: $OUT; err: $ERR"
  [[ -z $OUT ]] || fail "$what: printed a status: $OUT"
  [[ $(wc -l <<<"$ERR") -eq 1 ]] && grep -qE -- "$pattern" <<<"$ERR" ||
    fail "$what: stderr is not one line matching '$pattern': $ERR"
  log "$what: $ERR"
}

# value KEY: the value of KEY in $OUT (key: value lines).
value() { sed -n "s/^$1: //p" <<<"$OUT"; }

SRC=$TMP/src MNT=$TMP/mnt
mkdir -p "$SRC" "$MNT"
echo hello >"$SRC/hello"

# --- a root mount, daemon mode, with options the status must repeat
run "$DAEMON" -q --threads=3 --hide='*.key' -o noatime "$SRC" "$MNT"
((RC == 0)) || fail "mount: exit $RC: $ERR"
pid=$(daemon_pid_for "$MNT")
cat "$MNT/hello" >/dev/null
run "$DAEMON" status "$MNT"
((RC == 0)) || fail "status as root: exit $RC: $ERR"
log "status of a root mount:"
sed -n '1,22p' <<<"$OUT" | sed 's/^/    /'
[[ $(value pid) == "$pid" ]] || fail "status: pid '$(value pid)', the daemon is $pid"
[[ $(value version) =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "status: no version: $OUT"
[[ -n $(value git_revision) ]] || fail "status: no git_revision"
[[ $(value source) == "$SRC" && $(value mountpoint) == "$MNT" ]] || fail "status: wrong paths: $OUT"
[[ $(value options) == "quiet,threads=3,hide=*.key,noatime" ]] || fail "status: options '$(value options)'"
[[ $(value policies) == hide && $(value threads) == 3 ]] || fail "status: policies/threads wrong: $OUT"
[[ $(value protocol) =~ ^7\.[0-9]+$ ]] || fail "status: protocol '$(value protocol)'"
for key in transport data_path inode_passthrough source_watch kernel_protocol init_flags max_write \
  log started uptime_seconds; do
  [[ -n $(value "$key") ]] || fail "status: no $key line: $OUT"
done
reads=$(value requests_lookup)
((reads >= 1)) || fail "status: requests_lookup $reads after a cat through the mount"
n=$(grep -c '^opcode_' <<<"$OUT")
((n > 40)) || fail "status: only $n opcode_ counters"
# JSON: one object, numbers as numbers, the same keys.
run "$DAEMON" status --json "$MNT"
((RC == 0)) || fail "status --json: exit $RC: $ERR"
python3 - "$TMP/out" "$pid" <<'PY' || fail "status --json: not the expected JSON: $OUT"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["pid"] == int(sys.argv[2]), doc["pid"]
assert isinstance(doc["requests_total"], int) and doc["requests_total"] > 0
assert doc["policies"] == "hide"
assert all(isinstance(v, (int, str)) for v in doc.values())
PY
# A stopped daemon: the command gives up after 5 s instead of hanging.
kill -STOP "$pid"
at_cleanup "kill -CONT $pid 2>/dev/null"
t0=$(now)
expect_refusal "status of a stopped daemon" "the daemon \(pid $pid\) did not answer within 5 s" \
  "$DAEMON" status "$MNT"
kill -CONT "$pid"
awk -v t="$(since "$t0")" 'BEGIN { exit !(t >= 4.5 && t < 15) }' ||
  fail "status of a stopped daemon took $(since "$t0") s, not about 5"
# Other users: refused, with the reason.
expect_refusal "status of a root mount as uid $OWNER" "only root and the mounting user \(uid 0\)" \
  "${AS_OWNER[@]}" "$DAEMON" status "$MNT"
umount "$MNT"
wait_gone "$pid" 10 || fail "daemon still running after umount"

# --- kill -USR1 keeps writing the stats file
run "$DAEMON" -q --stats-file="$TMP/stats" "$SRC" "$MNT"
((RC == 0)) || fail "mount with --stats-file: exit $RC: $ERR"
pid=$(daemon_pid_for "$MNT")
kill -USR1 "$pid"
for _ in $(seq 50); do [[ -s $TMP/stats ]] && break; sleep 0.1; done
grep -q '^requests_total [0-9]' "$TMP/stats" || fail "kill -USR1 wrote no stats file"
run "$DAEMON" status "$MNT"
# Every counter of the stats file, under the same name.
while read -r name _; do
  [[ -n $(value "$name") ]] || fail "status has no '$name', which the stats file has"
done <"$TMP/stats"
umount "$MNT"
wait_gone "$pid" 10 || fail "daemon still running after umount"
log "kill -USR1 writes the stats file; status has each of its counters"

# --- an unprivileged mount: its owner and root may read, another user not
UDIR=$TMP/user
mkdir -p "$UDIR/src" "$UDIR/mnt"
chown -R $OWNER:$OWNER "$UDIR"
if ! "${AS_OWNER[@]}" test -r /dev/fuse -a -w /dev/fuse; then
  getfacl -p /dev/fuse >"$TMP/dev-fuse.acl" 2>/dev/null
  at_cleanup "setfacl --restore='$TMP/dev-fuse.acl'"
  setfacl -m "u:$OWNER:rw" /dev/fuse
fi
run "${AS_OWNER[@]}" "$DAEMON" -q --log="$UDIR/daemon.log" "$UDIR/src" "$UDIR/mnt"
((RC == 0)) || fail "unprivileged mount: exit $RC: $ERR"
upid=$(daemon_pid_for "$UDIR/mnt")
run "${AS_OWNER[@]}" "$DAEMON" status "$UDIR/mnt"
((RC == 0)) || fail "status as the mounting user: exit $RC: $ERR"
[[ $(value pid) == "$upid" && $(value uid) == "$OWNER" ]] || fail "status as owner: wrong pid/uid: $OUT"
run "$DAEMON" status "$UDIR/mnt"
((RC == 0)) && [[ $(value pid) == "$upid" ]] || fail "status of a user mount as root: exit $RC: $ERR"
expect_refusal "status of uid $OWNER's mount as uid $OTHER" "only root and the mounting user \(uid $OWNER\)" \
  "${AS_OTHER[@]}" "$DAEMON" status "$UDIR/mnt"
log "unprivileged mount: owner and root read the status, uid $OTHER is refused"

# --- a dead daemon, and a name taken by someone else
kill -KILL "$upid"
wait_gone "$upid" 10 || fail "SIGKILL did not end $upid"
expect_refusal "status of a dead mount" "no passthroughfs daemon answers" "$DAEMON" status "$UDIR/mnt"
dev=$(awk -v m="$UDIR/mnt" '$5 == m { d = $3 } END { print d }' /proc/self/mountinfo)
"${AS_OTHER[@]}" /usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind("\0passthroughfs/status/" + sys.argv[1]); s.listen(1)
print("bound", flush=True); time.sleep(30)' "$dev" >"$TMP/squat.out" &
squatter=$!
at_cleanup "kill $squatter 2>/dev/null"
for _ in $(seq 50); do grep -q bound "$TMP/squat.out" && break; sleep 0.1; done
grep -q bound "$TMP/squat.out" || fail "uid $OTHER could not bind the status name $dev"
expect_refusal "status through a name held by uid $OTHER" "held by uid $OTHER .*not trusted" \
  "$DAEMON" status "$UDIR/mnt"
kill "$squatter"
umount -l "$UDIR/mnt"

# --- not a mount, another filesystem, bad usage
expect_refusal "status of a plain directory" "not a mount point" "$DAEMON" status "$SRC"
expect_refusal "status of /proc" "a proc mount, not passthroughfs" "$DAEMON" status /proc
expect_refusal "status without MOUNTPOINT" "usage: passthroughfs status" "$DAEMON" status
expect_refusal "status with an unknown option" "unknown option '--xml'" "$DAEMON" status --xml "$MNT"

# --- a new mount given the device number of one whose daemon still holds
# the status name: fstests unmounts and mounts again at once, and the new
# daemon had no status command for its whole life ("no status command:
# socket @...: Address already in use" in its log). It now waits for the
# name. Here the names are held (bound, not listening, as by a daemon still
# ending) for 1.5 s after the first mount is gone; the next mount gets the
# lowest free device number, the first one's.
run "$DAEMON" -q --log="$TMP/first.log" "$SRC" "$MNT"
((RC == 0)) || fail "first mount: exit $RC: $ERR"
first_pid=$(daemon_pid_for "$MNT")
first_dev=$(awk -v m="$MNT" '$5 == m { d = $3 } END { print d }' /proc/self/mountinfo)
umount "$MNT"
wait_gone "$first_pid" 10 || fail "the first daemon did not end after umount"
/usr/bin/python3 -c '
import socket, sys, time
major, minor = sys.argv[1].split(":")
held = []
for m in range(int(minor), int(minor) + 8):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.bind("\0passthroughfs/status/%s:%d" % (major, m))
        held.append(s)
    except OSError:
        pass
print("bound", len(held), flush=True); time.sleep(1.5)' "$first_dev" >"$TMP/hold.out" &
holder=$!
at_cleanup "kill $holder 2>/dev/null"
for _ in $(seq 50); do grep -q bound "$TMP/hold.out" && break; sleep 0.1; done
grep -q "bound [1-9]" "$TMP/hold.out" || fail "could not hold the status names after $first_dev"
run "$DAEMON" -q --log="$TMP/second.log" "$SRC" "$MNT"
((RC == 0)) || fail "second mount: exit $RC: $ERR"
second_pid=$(daemon_pid_for "$MNT")
second_dev=$(awk -v m="$MNT" '$5 == m { d = $3 } END { print d }' /proc/self/mountinfo)
kill -0 "$holder" 2>/dev/null || fail "the names were let go before the second mount was up"
started=$(now)
for _ in $(seq 60); do
  run "$DAEMON" status "$MNT"
  ((RC == 0)) && break
  sleep 0.1
done
((RC == 0)) && [[ $(value pid) == "$second_pid" ]] ||
  fail "status of a mount whose name was held (device $second_dev after $first_dev): exit $RC: $ERR; log: $(cat "$TMP/second.log")"
! grep -q "no status command" "$TMP/second.log" || fail "the second daemon gave up the name: $(cat "$TMP/second.log")"
log "a mount whose status name was still held (device $second_dev, the first was $first_dev): status answered $(since "$started") s after the mount"
umount "$MNT"
