#!/usr/bin/env bash
# The installed library (issue 19): `cmake --install` of this build into a
# temporary prefix must give a package that an out-of-tree daemon builds
# against and that mounts.
#
#  1. The install holds the public headers, libptfs.a, libptfs.so (with its
#     soname), the CMake package (ptfsConfig.cmake, version file, targets)
#     and ptfs.pc; nothing from src/.
#  2. examples/deny-older-than is configured with find_package(ptfs)
#     through -DCMAKE_PREFIX_PATH=PREFIX (and must find it there) and built
#     against ptfs::ptfs (libptfs.so); it is compiled once more with
#     `pkg-config --cflags --libs ptfs` (-Wall -Wextra -Werror: the public
#     headers are clean) and linked against libptfs.so and libptfs.a.
#  3. As root with /dev/fuse (else exit 77 after 1-2): the CMake-built
#     daemon mounts with --deny-older-than=7 and the shipped --hide stacked;
#     an old file reads but cannot be written, truncated, chmod-ed, touched,
#     removed, renamed or replaced (EACCES, SOURCE unchanged), new files and
#     directories stay writable, the hidden name is gone; a bad DAYS is a
#     one-line error; umount ends the daemon. Then the statically linked
#     one serves in the foreground with -o deny_older_than=7 and exits 0
#     on SIGINT.
#
#   bash library_test.sh PATH/TO/passthroughfs SOURCE_DIR BUILD_DIR

source "$(dirname "$0")/lib.sh"

[[ $# -eq 3 ]] || fail "usage: $0 PATH/TO/passthroughfs SOURCE_DIR BUILD_DIR"
SOURCE_DIR=$2
BUILD_DIR=$3
[[ -f $BUILD_DIR/CMakeCache.txt ]] || fail "'$BUILD_DIR' is not a CMake build directory"
EXAMPLE=$SOURCE_DIR/examples/deny-older-than
[[ -f $EXAMPLE/CMakeLists.txt ]] || fail "no example at $EXAMPLE"
command -v pkg-config >/dev/null || fail "pkg-config is not installed (scripts/install-deps.sh installs it)"
DAEMON_REAL=$(readlink -f "$1")  # lib.sh's cleanup stops leftover daemons running this
setup_test
t0=$(now)
# has PATTERN TEXT: grep -q without a pipe (pipefail and grep -q's early exit
# make "cmd | grep -q" fail when cmd gets SIGPIPE).
has() { grep -q -- "$1" <<<"$2"; }

# ---- 1. the install
PREFIX=$TMP/prefix
cmake --install "$BUILD_DIR" --prefix "$PREFIX" >"$TMP/install.log" 2>&1 ||
  fail "cmake --install failed: $(tail -5 "$TMP/install.log")"
pc=$(find "$PREFIX" -name ptfs.pc)
[[ -n $pc ]] || fail "no ptfs.pc installed under $PREFIX"
LIBDIR=$(dirname "$(dirname "$pc")")
version=$(sed -n 's/^Version: //p' "$pc")
soname=libptfs.so.$(cut -d. -f1,2 <<<"$version")
for f in bin/passthroughfs include/ptfs/daemon.h include/ptfs/module.h include/ptfs/filesystem.h \
  "${LIBDIR#$PREFIX/}"/{libptfs.a,libptfs.so,"$soname"} \
  "${LIBDIR#$PREFIX/}"/cmake/ptfs/{ptfsConfig.cmake,ptfsConfigVersion.cmake,ptfsTargets.cmake}; do
  [[ -e $PREFIX/$f ]] || fail "not installed: $f (install log: $TMP/install.log)"
done
[[ $(cd "$SOURCE_DIR/include/ptfs" && ls) == $(cd "$PREFIX/include/ptfs" && ls) ]] ||
  fail "installed headers differ from include/ptfs: $(ls "$PREFIX/include/ptfs" | tr '\n' ' ')"
[[ $(find "$PREFIX/include" -type f | wc -l) -eq $(ls "$PREFIX/include/ptfs" | wc -l) ]] ||
  fail "more than include/ptfs installed: $(find "$PREFIX/include" -type f | tr '\n' ' ')"
has "Library soname: \[$soname\]" "$(readelf -d "$LIBDIR/libptfs.so")" ||
  fail "libptfs.so's soname is not $soname"
has ' T _ZN4ptfs9RunDaemon' "$(nm -D --defined-only "$LIBDIR/libptfs.so")" ||
  fail "libptfs.so does not export ptfs::RunDaemon"
log "installed into $PREFIX: version $version, $(find "$PREFIX" -type f | wc -l) files ($(since "$t0") s)"

# ---- 2. builds against it
t1=$(now)
cmake -S "$EXAMPLE" -B "$TMP/example" -DCMAKE_PREFIX_PATH="$PREFIX" >"$TMP/configure.log" 2>&1 ||
  fail "configuring examples/deny-older-than failed: $(tail -20 "$TMP/configure.log")"
found=$(sed -n 's/^ptfs_DIR:PATH=//p' "$TMP/example/CMakeCache.txt")
[[ $(readlink -f "$found") == $(readlink -f "$LIBDIR/cmake/ptfs") ]] ||
  fail "find_package(ptfs) found '$found', not the package under $PREFIX"
cmake --build "$TMP/example" >"$TMP/build.log" 2>&1 ||
  fail "building examples/deny-older-than failed: $(tail -30 "$TMP/build.log")"
EX=$TMP/example/ptfs-deny-older-than
[[ -x $EX ]] || fail "the example build made no $EX"
has "Shared library: \[$soname\]" "$(readelf -d "$EX")" || fail "$EX does not link $soname"
log "find_package(ptfs): configured and built $(basename "$EX") against ptfs::ptfs ($(since "$t1") s)"

t1=$(now)
export PKG_CONFIG_PATH=$LIBDIR/pkgconfig
[[ $(pkg-config --modversion ptfs) == "$version" ]] || fail "pkg-config --modversion ptfs: $(pkg-config --modversion ptfs 2>&1)"
cflags=$(pkg-config --cflags ptfs)
libs=$(pkg-config --libs ptfs)
[[ -f $(pkg-config --variable=includedir ptfs)/ptfs/daemon.h ]] ||
  fail "pkg-config: includedir '$(pkg-config --variable=includedir ptfs)' holds no ptfs/daemon.h"
g++ -std=c++20 -Wall -Wextra -Werror -c "$EXAMPLE/deny_older_than.cc" -o "$TMP/example.o" $cflags \
  2>"$TMP/cc.log" || fail "compiling with pkg-config's flags ($cflags) failed: $(head -30 "$TMP/cc.log")"
g++ "$TMP/example.o" -o "$TMP/ex-shared" $libs 2>"$TMP/cc.log" ||
  fail "linking with '$libs' failed: $(head -20 "$TMP/cc.log")"
g++ "$TMP/example.o" -o "$TMP/ex-static" "$(pkg-config --variable=libdir ptfs)/libptfs.a" \
  $(pkg-config --static --libs-only-other ptfs) 2>"$TMP/cc.log" ||
  fail "linking libptfs.a failed: $(head -20 "$TMP/cc.log")"
! has libptfs "$(readelf -d "$TMP/ex-static")" || fail "ex-static still needs libptfs.so"
LD_LIBRARY_PATH=$LIBDIR "$TMP/ex-shared" --help >"$TMP/help" || fail "ex-shared --help failed"
grep -q -- "--deny-older-than=DAYS, -o deny_older_than=DAYS" "$TMP/help" ||
  fail "ex-shared --help lacks --deny-older-than: $(grep -n -- '--hide' "$TMP/help")"
grep -q -- "--hide=GLOB" "$TMP/help" || fail "ex-shared --help lacks the daemon's own --hide"
has '^passthroughfs ' "$("$TMP/ex-static" --version)" || fail "ex-static --version failed"
log "pkg-config ($cflags $libs): compiled, linked shared and static; --help lists --deny-older-than ($(since "$t1") s)"

# ---- 3. mounts
[[ $(id -u) -eq 0 ]] || skip "the package builds; the mount part needs root"
[[ -c /dev/fuse ]] || skip "the package builds; no /dev/fuse for the mount part"

SRC=$TMP/src
MNT=$TMP/mnt
mkdir "$SRC" "$MNT" "$SRC/olddir"
for f in old old-create victim; do echo "$f" >"$SRC/$f.txt"; done
echo new >"$SRC/new.txt"
echo key >"$SRC/secret.key"
touch -d '10 days ago' "$SRC"/{old,old-create,victim}.txt "$SRC/olddir"
stamp() { stat -c '%s %Y %a' "$SRC/$1"; }
old_stamp=$(stamp old.txt)
DAEMON_REAL=$(readlink -f "$EX")  # for lib.sh's daemon lookups and cleanup

OUT=$TMP/stdout ERR=$TMP/stderr
set +e
timeout 30 "$EX" --deny-older-than=x "$SRC" "$MNT" >"$OUT" 2>"$ERR"
rc=$?
set -e
((rc == 1)) && [[ $(wc -l <"$ERR") -eq 1 ]] && grep -q -- "--deny-older-than: must be a whole number" "$ERR" ||
  fail "--deny-older-than=x: exit $rc, stderr '$(cat "$ERR")'"
! is_mounted "$MNT" || fail "--deny-older-than=x mounted"
log "--deny-older-than=x: exit 1, '$(cat "$ERR")'"

timeout 30 "$EX" --deny-older-than=7 --hide='*.key' "$SRC" "$MNT" 2>"$ERR" ||
  fail "mounting with --deny-older-than=7 --hide='*.key' failed: $(cat "$ERR")"
is_mounted "$MNT" || fail "$EX returned 0 but nothing is mounted at $MNT"
pid=$(daemon_pid_for "$MNT")

# denied OP: the command fails with EACCES ("Permission denied")
denied() {
  local what=$1 msg
  shift
  if msg=$("$@" 2>&1); then fail "$what: succeeded on an old file"; fi
  grep -q "Permission denied" <<<"$msg" || fail "$what: failed without EACCES: $msg"
}
denied "O_CREAT|O_TRUNC" sh -c "echo x >'$MNT/old-create.txt'"
[[ $(cat "$MNT/old.txt") == old ]] || fail "cannot read old.txt through the mount"
denied "append" sh -c "echo x >>'$MNT/old.txt'"
denied "O_TRUNC" sh -c ": >'$MNT/old.txt'"
denied "truncate" truncate -s 0 "$MNT/old.txt"
denied "chmod" chmod 600 "$MNT/old.txt"
denied "touch" touch "$MNT/old.txt"
denied "rm" rm -f "$MNT/old.txt"
denied "mv away" mv "$MNT/old.txt" "$MNT/moved.txt"
denied "mv onto" mv "$MNT/new.txt" "$MNT/victim.txt"
[[ $(stamp old.txt) == "$old_stamp" && $(cat "$SRC/old.txt") == old ]] || fail "old.txt changed in SOURCE"
[[ $(cat "$SRC/old-create.txt") == old-create && $(cat "$SRC/victim.txt") == victim ]] ||
  fail "an old file changed in SOURCE"
log "old file: read works; create/append/O_TRUNC/truncate/chmod/touch/rm/mv/mv-onto all EACCES"
echo more >>"$MNT/new.txt" || fail "cannot append to a new file"
echo made >"$MNT/olddir/made.txt" || fail "cannot create a file in an old directory"
mv "$MNT/olddir/made.txt" "$MNT/made.txt" && rm "$MNT/made.txt" || fail "cannot rename or remove a new file"
[[ $(cat "$SRC/new.txt") == $'new\nmore' && ! -e $SRC/made.txt ]] || fail "new files not changed as asked"
[[ ! -e $MNT/secret.key && $(ls "$MNT") != *secret* ]] || fail "--hide='*.key': secret.key shows"
log "new files and old directories writable; --hide stacked with it hides secret.key"
umount "$MNT" || fail "umount failed"
wait_gone "$pid" 10 || fail "daemon $pid still running 10 s after umount"
log "umount: daemon exited"

# The statically linked daemon, foreground, the -o form.
DAEMON_REAL=$(readlink -f "$TMP/ex-static")
"$TMP/ex-static" -f -o deny_older_than=7 "$SRC" "$MNT" 2>"$TMP/fg.log" &
pid=$!
wait_mounted "$MNT" 10 "$pid" || fail "ex-static -f: not mounted after 10 s: $(cat "$TMP/fg.log")"
[[ $(cat "$MNT/old.txt") == old ]] || fail "ex-static: cannot read old.txt"
denied "ex-static: append" sh -c "echo x >>'$MNT/old.txt'"
echo again >>"$MNT/new.txt" || fail "ex-static: cannot append to a new file"
kill -INT "$pid"
wait_gone "$pid" 10 || fail "ex-static: still running 10 s after SIGINT"
set +e
wait "$pid"
rc=$?
set -e
((rc == 0)) || fail "ex-static: exit status $rc after SIGINT; log: $(cat "$TMP/fg.log")"
! is_mounted "$MNT" || fail "ex-static: still mounted after SIGINT"
grep -q "policy module: deny-older-than" "$TMP/fg.log" || fail "ex-static: no 'policy module' log line"
log "libptfs.a daemon, -o deny_older_than=7, foreground: policy held, SIGINT -> exit 0"
log "total $(since "$t0") s"
