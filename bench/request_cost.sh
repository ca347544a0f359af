#!/usr/bin/env bash
# Server cost per request in instructions (callgrind), for GETATTR, LOOKUP
# (warm inode), READDIRPLUS of 100 entries, and a CREATE+RELEASE+UNLINK+FORGET
# cycle through each policy module (create:POLICY), per request or cycle:
# decode + handler + encode,
# in-process (bench/micro/request_cost.cc). Instruction counts repeat exactly
# for the same binary and input, so a regression shows as a number even on a
# noisy VM. Syscalls count as the instructions they run in user space only.
#   bench/request_cost.sh [N]      (N requests per op, default 2000)
set -euo pipefail
n=${1:-2000}
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/build.sh" request_cost >/dev/null
tool="$here/build/bench/request_cost"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '%-12s %14s\n' op instr/request
for op in getattr lookup readdirplus create:none create:hide create:read-only create:audit \
  create:map-owner create:all; do
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out/cg.$op" \
    "$tool" --count="$n" "$op" >/dev/null 2>"$out/log.$op"
  total=$(grep -h '^summary:\|^totals:' "$out"/cg.$op* | awk '{s+=$2} END {print s}')
  awk -v t="$total" -v n="$n" -v op="$op" 'BEGIN { printf "%-12s %14.0f\n", op, t / n }'
done
echo "($n requests each; callgrind Ir, user space only)"
