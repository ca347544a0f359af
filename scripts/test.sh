#!/usr/bin/env bash
# Builds everything and runs every test tier (unit, fakekernel, mount).
# The mount tier needs root and /dev/fuse (CI runs as root).
#   scripts/test.sh [extra ctest arguments, e.g. -L unit]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
# One test at a time: the machine has two cores, and the mount tests measure
# nothing, but the real-tree test builds the project inside a mount.
ctest --test-dir build --output-on-failure --timeout 1200 "$@"
