#!/usr/bin/env bash
# Quick start: builds what it needs, then mounts SOURCE at MOUNTPOINT.
#   scripts/mount.sh SOURCE MOUNTPOINT [passthroughfs options]
# Installs only the packages building and running need (not the test
# libraries), shows the build's progress, and returns once the mount is
# live. Unmount with: umount MOUNTPOINT (or fusermount3 -u MOUNTPOINT).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
if [[ $# -lt 2 ]]; then
  echo "usage: $0 SOURCE MOUNTPOINT [passthroughfs options]" >&2
  exit 2
fi
"$here/scripts/build.sh" --runtime --progress passthroughfs
exec "$here/build/passthroughfs" "$@"
