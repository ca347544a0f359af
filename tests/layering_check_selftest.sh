#!/usr/bin/env bash
# Proves the layering check can fail: it must reject a tree where proto/
# includes session/ (an upward include) and accept the same tree without it.
set -euo pipefail
check=$(cd "$(dirname "$0")" && pwd)/layering_check.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src/proto" "$tmp/src/session" "$tmp/include/ptfs" "$tmp/cmd"
echo '#include "abi/fuse_abi.h"' > "$tmp/src/proto/ok.h"
echo '#include "proto/ok.h"' > "$tmp/src/session/ok.h"
"$check" "$tmp" >/dev/null || { echo "FAIL: a clean tree was rejected"; exit 1; }
echo '#include "session/ok.h"' > "$tmp/src/proto/bad.h"
if "$check" "$tmp"; then echo "FAIL: proto -> session was accepted"; exit 1; fi
echo '#include "mirror/x.h"' > "$tmp/include/ptfs/bad.h"
rm "$tmp/src/proto/bad.h"
if "$check" "$tmp"; then echo "FAIL: public API -> passthrough was accepted"; exit 1; fi
echo '#include "util/log.h"' > "$tmp/include/ptfs/bad.h"
if "$check" "$tmp"; then echo "FAIL: public API -> util was accepted (it must stand alone)"; exit 1; fi
echo "layering check self-test ok"
