#!/usr/bin/env bash
# Fails when an #include points up a layer (docs/architecture.md). Each layer
# may include only itself and the layers listed for it here; the system and
# standard headers (<...>) are not checked.
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
declare -A allowed=(
  [ptfs]="ptfs"                   # include/ptfs: the public API, standing alone
  [util]="util"
  [abi]="abi"
  [sys]="sys util ptfs"
  [proto]="proto abi util ptfs"
  [transport]="transport abi sys util ptfs"
  [session]="session proto transport ptfs abi util"
  [mirror]="mirror ptfs sys util abi"
  [modules]="modules ptfs"        # policies: the public API only
  [cmd]="cmd session mirror modules transport proto sys ptfs abi util"
)
status=0
check_dir() {  # layer, directory
  local layer=$1 dir=$2
  [[ -d $dir ]] || return 0
  while IFS= read -r -d '' file; do
    while IFS= read -r inc; do
      local target=${inc%%/*}
      if [[ " ${allowed[$layer]} " != *" $target "* ]]; then
        echo "layering violation: ${file#$root/} ($layer) includes \"$inc\" ($target)"
        status=1
      fi
    done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$file")
  done < <(find "$dir" -type f \( -name '*.h' -o -name '*.cc' \) -print0)
}
for dir in "$root"/src/*/; do
  layer=$(basename "$dir")
  if [[ -z ${allowed[$layer]:-} ]]; then
    echo "layering: src/$layer is not a known layer (add it here and to docs/architecture.md)"
    status=1
    continue
  fi
  check_dir "$layer" "$dir"
done
check_dir ptfs "$root/include/ptfs"
check_dir cmd "$root/cmd"
if [[ $status -eq 0 ]]; then echo "layering ok"; fi
exit $status
