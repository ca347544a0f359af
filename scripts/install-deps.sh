#!/usr/bin/env bash
# Installs the Debian packages passthroughfs needs on a fresh Debian 12
# machine. Idempotent: only missing packages are installed.
#   scripts/install-deps.sh            build, run, test and benchmark
#   scripts/install-deps.sh --runtime  only build and run (scripts/mount.sh)
set -euo pipefail
runtime=(
  build-essential cmake ninja-build pkg-config  # toolchain (build-essential brings dpkg-dev for cpack)
  fuse3                                         # fusermount3 + mount.fuse3 (unprivileged mounts, fstab)
)
tests=(
  libgtest-dev                                  # unit / fakekernel / mount tests
  attr acl                                      # setfattr/getfattr/setfacl used by tests
  python3                                       # status test (JSON), bench/suite
  strace                                        # cli_test: the daemon made to end before it serves
  git                                           # the real-tree acceptance test
  systemd                                       # systemd-analyze verify of docs/systemd
  groff-base man-db                             # passthroughfs(8) checked as man shows it
  clang libclang-rt-14-dev                      # fuzz tier (libFuzzer, sanitizers)
  libbenchmark-dev valgrind                     # bench/micro request cost (ns and callgrind counts)
  gnuplot-nox                                   # bench/suite's picture (bench/plot.py)
)
packages=("${runtime[@]}")
[[ ${1:-} == --runtime ]] || packages+=("${tests[@]}")
missing=()
for p in "${packages[@]}"; do
  [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == *"install ok installed"* ]] || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
  export DEBIAN_FRONTEND=noninteractive
  echo "installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
