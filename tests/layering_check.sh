#!/usr/bin/env bash
# Fails when an #include points up a layer (docs/architecture.md). Each layer
# may include only itself and the layers listed for it here; the system and
# standard headers (<...>) are not checked.
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
declare -A allowed=(
  [util]="util"
  [abi]="abi"
  [ptfs]="ptfs util abi"          # include/ptfs: the public API
  [api]="api ptfs util abi"       # src/api: the public API's defaults
  [sys]="sys util"
  [proto]="proto abi util"
  [transport]="transport abi sys util"
  [session]="session proto transport ptfs abi util"
  [passthrough]="passthrough ptfs sys util abi"
  [policy]="policy ptfs util abi"
  [cmd]="cmd session passthrough policy transport proto sys ptfs abi util"
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
for layer in util abi api sys proto transport session passthrough policy; do
  check_dir "$layer" "$root/src/$layer"
done
check_dir ptfs "$root/include/ptfs"
check_dir cmd "$root/cmd"
if [[ $status -eq 0 ]]; then echo "layering ok"; fi
exit $status
