#!/usr/bin/env bash
# Builds everything and runs every test tier (unit, fakekernel, mount).
# The mount tier needs root and /dev/fuse (CI runs as root).
#   scripts/test.sh [extra ctest arguments, e.g. -L unit]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
# As root, let the kernel offer FUSE over io_uring (the daemon's default
# transport where offered), so every tier tests the same default whatever
# order the tests run in; variants that want /dev/fuse ask for it.
uring_param=/sys/module/fuse/parameters/enable_uring
if [[ $(id -u) -eq 0 ]]; then
  modprobe fuse 2>/dev/null || true
  if [[ -w $uring_param ]]; then echo Y > "$uring_param"; fi
fi
# One test at a time: the machine has two cores, and the mount tests measure
# nothing, but the real-tree test builds the project inside a mount.
ctest --test-dir build --output-on-failure --timeout 1200 "$@"
