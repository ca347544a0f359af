#!/usr/bin/env bash
# Quick start: builds what it needs, then mounts SOURCE at MOUNTPOINT.
#   scripts/mount.sh SOURCE MOUNTPOINT [passthroughfs options]
# Unmount with: umount MOUNTPOINT (or fusermount3 -u MOUNTPOINT).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
if [[ $# -lt 2 ]]; then
  echo "usage: $0 SOURCE MOUNTPOINT [passthroughfs options]" >&2
  exit 2
fi
"$here/scripts/build.sh" passthroughfs >/dev/null
exec "$here/build/passthroughfs" "$@"
