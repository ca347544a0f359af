#!/usr/bin/env bash
# Installs everything passthroughfs needs to build, test and benchmark on a
# fresh Debian 12 machine. Idempotent: only missing packages are installed.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config  # toolchain
  libgtest-dev                                  # unit / fakekernel / mount tests
  fuse3                                         # fusermount3 + mount.fuse3 (unprivileged mounts, fstab)
  attr acl                                      # setfattr/getfattr/setfacl used by tests
  git                                           # the real-tree acceptance test
  groff-base man-db                             # passthroughfs(8) checked as man shows it
  clang libclang-rt-14-dev                      # fuzz tier (libFuzzer, sanitizers)
  libbenchmark-dev valgrind                     # bench/micro request cost (ns and callgrind counts)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
