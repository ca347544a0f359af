#!/usr/bin/env bash
# bench/suite --quick (issue 20): runs the metadata workloads on tmpfs
# against the built daemon and writes its results with a PNG picture
# (bench/plot.py: every row's ratio to native), whose run is marked as one
# whose figures are not for comparison.
#
#   bash bench_quick_test.sh PATH/TO/passthroughfs SOURCE_DIR BUILD_DIR
source "$(dirname "$0")/lib.sh"
parse_args "$1" "$2"
BUILD_DIR=${3:?usage: $0 DAEMON SOURCE_DIR BUILD_DIR}
command -v gnuplot >/dev/null || fail "gnuplot is not installed (scripts/install-deps.sh installs gnuplot-nox)"
[[ -x $BUILD_DIR/bench/metabench ]] || fail "no $BUILD_DIR/bench/metabench (built with the daemon)"
setup_test

t0=$(now)
python3 "$SOURCE_DIR/bench/suite.py" --quick --fs=tmpfs --systems=ptfs --workloads=W4,W6 \
  --build-dir="$BUILD_DIR" --out-dir="$TMP/out" >"$TMP/suite.log" 2>&1 ||
  fail "bench/suite.py --quick failed: $(tail -15 "$TMP/suite.log")"
png=$(ls "$TMP"/out/suite-*-quick.png 2>/dev/null) || fail "no PNG written: $(tail -5 "$TMP/suite.log")"
[[ $(head -c 8 "$png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || fail "$png is not a PNG"
size=$(stat -c %s "$png")
((size > 10000)) || fail "$png is only $size bytes"
head -1 "$TMP"/out/suite-*-quick.txt | grep -q QUICK || fail "the quick run's report does not say QUICK"
python3 - "$TMP"/out/suite-*-quick.json <<'PY' || fail "the JSON does not mark the run quick or lacks rows"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["meta"]["quick"] is True
assert any(r["system"] == "ptfs" and "vs_native" in r for r in doc["rows"])
PY
log "bench/suite --quick in $(since "$t0") s: $(basename "$png"), $size bytes"
