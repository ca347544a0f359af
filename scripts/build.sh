#!/usr/bin/env bash
# Installs missing Debian packages and builds passthroughfs into build/.
#   scripts/build.sh [--runtime] [--progress] [ninja targets...]
# --runtime: only what building and running the daemon needs (no test or
# benchmark libraries; tests are not configured). --progress: one line of
# build progress on stderr instead of ninja's output (shown in full if the
# build fails).
set -euo pipefail
cd "$(dirname "$0")/.."
deps=() tests=ON progress=0
while [[ ${1:-} == --* ]]; do
  case $1 in
    --runtime) deps=(--runtime) tests=OFF ;;
    --progress) progress=1 ;;
    *) echo "build.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
bash scripts/install-deps.sh "${deps[@]}"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPTFS_TESTS=$tests >/dev/null
if ((!progress)); then
  exec ninja -C build -j"${JOBS:-2}" "$@"
fi
log=build/build.log
set +e
ninja -C build -j"${JOBS:-2}" "$@" 2>&1 | tee "$log" | while IFS= read -r line; do
  if [[ $line =~ ^\[([0-9]+)/([0-9]+)\] ]]; then
    printf '\rbuilding passthroughfs: %s of %s steps' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" >&2
  fi
done
rc=${PIPESTATUS[0]}
set -e
if ((rc != 0)); then
  printf '\n' >&2
  cat "$log" >&2
  exit "$rc"
fi
if grep -q '^\[' "$log"; then printf ' done\n' >&2; fi
