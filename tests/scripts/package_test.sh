#!/usr/bin/env bash
# The Debian packages (issue 20): `cpack -G DEB` in the build directory
# makes passthroughfs and libptfs-dev; passthroughfs depends only on what the
# daemon needs at run time (fuse3 and the C/C++ runtime, no test or build
# libraries), installs with dpkg, puts the daemon in /usr/bin, its man page
# where man finds it, and mount.fuse.passthroughfs where mount(8) looks; an
# fstab line and `mount -t fuse.passthroughfs` then mount from a PATH-less
# environment (as mount(8) runs its helpers), even with mount.fuse3's generic
# name removed; the example systemd units of docs/systemd pass
# systemd-analyze verify, and the installed daemon speaks Type=notify
# (READY=1 once the mount is live, STOPPING=1 on SIGTERM); `dpkg -r` takes
# it all away again. Also: scripts/mount.sh
# installs only build and run-time packages, and a configure with the tests
# off needs no test library.
#
# Installing happens in a private mount namespace with /usr, /etc and /var
# overlaid by throw-away directories: the host's files and package database
# are never changed.
#
#   bash package_test.sh PATH/TO/passthroughfs SOURCE_DIR BUILD_DIR

# ---- part run inside the private mount namespace ------------------------
if [[ ${1:-} == --in-namespace ]]; then
  shift
  source "$(dirname "$0")/lib.sh"
  TEST_NAME="$TEST_NAME(installed)"
  PKG=$1 SRC=$2 MNT=$3 OVL=$4 SOURCE_DIR=$5
  for dir in usr etc var; do
    mkdir -p "$OVL/$dir.upper" "$OVL/$dir.work"
    mount -t overlay overlay -o "lowerdir=/$dir,upperdir=$OVL/$dir.upper,workdir=$OVL/$dir.work" "/$dir" ||
      fail "cannot overlay /$dir"
  done
  dpkg -i "$PKG"/passthroughfs_*.deb >"$OVL/dpkg.log" 2>&1 || fail "dpkg -i passthroughfs: $(cat "$OVL/dpkg.log")"
  [[ -x /usr/bin/passthroughfs ]] || fail "no /usr/bin/passthroughfs after dpkg -i"
  found=$(env -i /bin/sh -c 'command -v passthroughfs') || true
  [[ $found == /usr/bin/passthroughfs ]] || fail "a PATH-less /bin/sh finds passthroughfs at '$found'"
  [[ $(readlink -f /usr/sbin/mount.fuse.passthroughfs) == $(readlink -f /usr/sbin/mount.fuse3) ]] ||
    fail "mount.fuse.passthroughfs does not lead to mount.fuse3"
  page=$(man -w passthroughfs 2>&1) || fail "man -w passthroughfs: $page"
  [[ $page == /usr/share/man/man8/passthroughfs.8* ]] || fail "man finds the page at $page"
  version=$(/usr/bin/passthroughfs --version)
  log "dpkg -i: $version; man page $page; helper $(readlink /usr/sbin/mount.fuse.passthroughfs)"

  # check_mounted HOW: the mount is live, served by /usr/bin/passthroughfs,
  # and reports itself; then umount ends the daemon.
  check_mounted() {
    local how=$1 pid exe
    is_mounted "$MNT" || fail "$how: nothing mounted at $MNT"
    [[ $(cat "$MNT/hello") == "hello package" ]] || fail "$how: wrong content through the mount"
    pid=$(env -i /usr/bin/passthroughfs status "$MNT" | sed -n 's/^pid: //p')
    [[ -n $pid ]] || fail "$how: passthroughfs status gave no pid"
    exe=$(readlink "/proc/$pid/exe")
    [[ $exe == /usr/bin/passthroughfs ]] || fail "$how: served by $exe, not the installed daemon"
    umount "$MNT" || fail "$how: umount failed"
    wait_gone "$pid" 10 || fail "$how: daemon $pid still running after umount"
    log "$how: mounted by the installed daemon (pid $pid), umount ended it"
  }

  echo "$SRC $MNT fuse.passthroughfs defaults,allow_other,nosuid,nodev 0 0" >>/etc/fstab
  env -i /usr/bin/mount "$MNT" || fail "mount $MNT (fstab) failed"
  check_mounted "fstab line"
  # Without mount.fuse (mount.fuse3's generic name), mount(8) can only have
  # used mount.fuse.passthroughfs.
  rm -f /usr/sbin/mount.fuse
  env -i /usr/bin/mount -t fuse.passthroughfs "$SRC" "$MNT" || fail "mount -t fuse.passthroughfs failed"
  check_mounted "mount -t fuse.passthroughfs (through mount.fuse.passthroughfs)"

  # The example systemd units (docs/systemd) against the installed daemon:
  # systemd-analyze verify reads them without a warning.
  if command -v systemd-analyze >/dev/null; then
    mkdir -p "$OVL/units"
    cp "$SOURCE_DIR"/docs/systemd/* "$OVL/units/"
    (cd "$OVL/units" && systemd-analyze verify --man=no ./*.service ./*.mount) >"$OVL/verify.log" 2>&1 ||
      fail "systemd-analyze verify of docs/systemd: $(cat "$OVL/verify.log")"
    [[ ! -s $OVL/verify.log ]] || fail "systemd-analyze verify warns: $(cat "$OVL/verify.log")"
    log "systemd-analyze verify: $(cd "$OVL/units" && echo ./*) read cleanly"
  else
    fail "systemd-analyze not installed (scripts/install-deps.sh installs systemd)"
  fi
  # Type=notify as systemd runs it: READY=1 (with MAINPID) arrives when the
  # mount is already live, STOPPING=1 on SIGTERM.
  NOTIFY=$OVL/notify.sock
  /usr/bin/python3 - "$NOTIFY" "$MNT" >"$OVL/notify.log" 2>&1 <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); s.settimeout(20)
print("listening", flush=True)
while True:
    msg = s.recv(4096).decode()
    try:  # at STOPPING=1 the mount may be going away under the read
        live = os.path.ismount(sys.argv[2]) and open(os.path.join(sys.argv[2], "hello")).read().strip()
    except OSError as e:
        live = f"not readable ({e.strerror})"
    print(repr(msg), "live:", live, flush=True)
    if "STOPPING=1" in msg:
        break
PY
  receiver=$!
  for _ in $(seq 50); do grep -q listening "$OVL/notify.log" && break; sleep 0.1; done
  NOTIFY_SOCKET=$NOTIFY /usr/bin/passthroughfs -f "$SRC" "$MNT" 2>"$OVL/notify-daemon.log" &
  daemon=$!
  for _ in $(seq 100); do grep -q READY "$OVL/notify.log" && break; sleep 0.1; done
  grep -q "READY=1.*MAINPID=$daemon.*STATUS=mounted .* live: hello package" "$OVL/notify.log" ||
    fail "Type=notify: no READY=1 with MAINPID=$daemon while the mount was live: $(cat "$OVL/notify.log")"
  kill -TERM "$daemon"
  wait "$daemon" || fail "Type=notify: the daemon exited $? on SIGTERM"
  wait "$receiver" || fail "Type=notify: no STOPPING=1: $(cat "$OVL/notify.log")"
  log "Type=notify: $(grep -o "READY=1[^']*" "$OVL/notify.log" | head -1 | cut -c1-90)...; STOPPING=1 on SIGTERM"

  dpkg -i "$PKG"/libptfs-dev_*.deb >>"$OVL/dpkg.log" 2>&1 || fail "dpkg -i libptfs-dev: $(tail -5 "$OVL/dpkg.log")"
  [[ -f /usr/include/ptfs/module.h ]] || fail "libptfs-dev: no /usr/include/ptfs/module.h"
  libs=$(pkg-config --libs ptfs) || fail "libptfs-dev: pkg-config does not know ptfs"
  log "libptfs-dev: headers in /usr/include/ptfs, pkg-config --libs ptfs: $libs"

  dpkg -r libptfs-dev passthroughfs >>"$OVL/dpkg.log" 2>&1 || fail "dpkg -r: $(tail -5 "$OVL/dpkg.log")"
  for f in /usr/bin/passthroughfs /usr/sbin/mount.fuse.passthroughfs /usr/share/man/man8/passthroughfs.8 \
    /usr/include/ptfs; do
    [[ ! -e $f ]] || fail "$f left after dpkg -r"
  done
  log "dpkg -r removed both packages' files"
  exit 0
fi

# ---- main test -----------------------------------------------------------
source "$(dirname "$0")/lib.sh"
parse_args "$1" "$2"
BUILD_DIR=${3:?usage: $0 DAEMON SOURCE_DIR BUILD_DIR}
for tool in cpack dpkg dpkg-deb man pkg-config unshare; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/install-deps.sh installs it)"
done
setup_test

PKG=$TMP/pkg
t0=$(now)
(cd "$BUILD_DIR" && cpack -G DEB -B "$PKG") >"$TMP/cpack.log" 2>&1 || fail "cpack -G DEB: $(tail -5 "$TMP/cpack.log")"
debs=$(cd "$PKG" && ls ./*.deb | sort | tr '\n' ' ')
[[ $debs == "./libptfs-dev_"*"_amd64.deb ./passthroughfs_"*"_amd64.deb " ]] ||
  fail "cpack made '$debs', not libptfs-dev and passthroughfs"
log "cpack -G DEB in $(since "$t0") s: $debs"

deb=$(ls "$PKG"/passthroughfs_*.deb)
depends=$(dpkg-deb -f "$deb" Depends)
names=$(tr ',' '\n' <<<"$depends" | awk '{ print $1 }' | sort | tr '\n' ' ')
[[ $names == "fuse3 libc6 libgcc-s1 libstdc++6 " ]] ||
  fail "passthroughfs depends on '$depends', not only fuse3 and the C/C++ runtime"
contents=$(dpkg-deb -c "$deb" | awk '{ print $6 }' | grep -v '/$' | sort | tr '\n' ' ')
[[ $contents == "./usr/bin/passthroughfs ./usr/sbin/mount.fuse.passthroughfs ./usr/share/man/man8/passthroughfs.8 " ]] ||
  fail "passthroughfs holds '$contents'"
log "passthroughfs: Depends: $depends; files: $contents"

# scripts/mount.sh's dependencies: with every package missing (a fake
# dpkg-query), `install-deps.sh --runtime` asks apt-get (a fake that records)
# for the build and run-time packages only.
mkdir -p "$TMP/fakebin"
printf '#!/bin/sh\nexit 1\n' >"$TMP/fakebin/dpkg-query"
printf '#!/bin/sh\necho "$@" >>"%s/apt.log"\n' "$TMP" >"$TMP/fakebin/apt-get"
chmod +x "$TMP/fakebin/dpkg-query" "$TMP/fakebin/apt-get"
PATH=$TMP/fakebin:$PATH bash "$SOURCE_DIR/scripts/install-deps.sh" --runtime 2>/dev/null ||
  fail "install-deps.sh --runtime failed"
asked=$(grep install "$TMP/apt.log" | sed 's/.*--no-install-recommends //')
[[ $asked == "build-essential cmake ninja-build pkg-config fuse3" ]] ||
  fail "install-deps.sh --runtime installs '$asked'"
log "mount.sh's dependencies (install-deps.sh --runtime): $asked"
# ... and a configure with the tests off needs no test library.
cmake -S "$SOURCE_DIR" -B "$TMP/runtime-build" -G Ninja -DPTFS_TESTS=OFF \
  -DCMAKE_DISABLE_FIND_PACKAGE_GTest=ON -DCMAKE_DISABLE_FIND_PACKAGE_benchmark=ON >"$TMP/configure.log" 2>&1 ||
  fail "configure with PTFS_TESTS=OFF and no GTest/benchmark failed: $(tail -5 "$TMP/configure.log")"
# The target list is read whole first: with pipefail, "ninja ... | grep -q"
# fails whenever grep's early exit leaves ninja writing into a closed pipe.
targets=$(ninja -C "$TMP/runtime-build" -t targets all) ||
  fail "ninja -t targets failed on the tests-off configure"
grep -q '^passthroughfs:' <<<"$targets" ||
  fail "the tests-off configure has no passthroughfs target"
! grep -qE '^(tests/unit/)?unit_test:' <<<"$targets" ||
  fail "the tests-off configure still has the unit tests"
log "configure with PTFS_TESTS=OFF, GoogleTest and Google Benchmark hidden: ok"

SRC=$TMP/src MNT=$TMP/mnt
mkdir -p "$SRC" "$MNT" "$TMP/overlay"
echo "hello package" >"$SRC/hello"
host_state() { dpkg-query -W -f='${Status}' passthroughfs 2>&1 || true; ls -l /usr/bin/passthroughfs 2>&1 || true; }
before=$(host_state)
unshare -m --propagation private bash "$0" --in-namespace "$PKG" "$SRC" "$MNT" "$TMP/overlay" "$SOURCE_DIR" ||
  fail "the installed part failed (see above)"
[[ $(host_state) == "$before" ]] || fail "the host changed: was '$before', now '$(host_state)'"
