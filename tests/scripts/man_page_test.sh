#!/usr/bin/env bash
# passthroughfs(8) as man shows it (issue 19: a man page section per policy
# module; the page is generated from the option table, man_page.cc):
#  1. groff reads the built page without a warning (-ww);
#  2. `man -l` of it shows every option `--help` shows (long options and
#     -o keys), and a section for each policy module;
#  3. `cmake --install` puts it in share/man/man8.
#
#   bash man_page_test.sh PATH/TO/passthroughfs SOURCE_DIR BUILD_DIR

source "$(dirname "$0")/lib.sh"

[[ $# -eq 3 ]] || fail "usage: $0 PATH/TO/passthroughfs SOURCE_DIR BUILD_DIR"
DAEMON=$1 BUILD_DIR=$3
PAGE=$BUILD_DIR/passthroughfs.8
[[ -s $PAGE ]] || fail "the build made no $PAGE"
for tool in groff man; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/install-deps.sh installs it)"
done
setup_test

# 1. no warning from groff (a stray request, an unknown macro, a bad escape)
warnings=$(groff -man -ww -z -Tutf8 "$PAGE" 2>&1)
[[ -z $warnings ]] || fail "groff warns about $PAGE: $warnings"

# 2. what man shows, as plain text with long lines (no hyphenation splits)
shown=$(LC_ALL=C MANWIDTH=250 MANPAGER=cat man -l "$PAGE" 2>"$TMP/man.err" | sed "s/.\x08//g")
[[ -n $shown ]] || fail "man -l $PAGE showed nothing: $(cat "$TMP/man.err")"
help=$("$DAEMON" --help)
mapfile -t longs < <(grep -oE -- '--[a-z][a-z0-9-]*' <<<"$help" | sort -u)
mapfile -t keys < <(grep -oE -- '-o [a-z_]+' <<<"$help" | sort -u)
((${#longs[@]} > 25 && ${#keys[@]} > 25)) ||
  fail "--help shows only ${#longs[@]} long options and ${#keys[@]} -o keys: the parse is wrong"
missing=()
for o in "${longs[@]}" "${keys[@]}"; do
  grep -qF -- "$o" <<<"$shown" || missing+=("$o")
done
((${#missing[@]} == 0)) || fail "man -l shows no ${missing[*]} (--help does)"
for section in "POLICY MODULES" "Hiding names" "Read-only subtrees" "Owner mapping" "Audit log"; do
  grep -q "^ *$section\$" <<<"$shown" || fail "man -l shows no section '$section'"
done
log "man -l shows all ${#longs[@]} long options and ${#keys[@]} -o keys of --help, 4 module sections"

# 3. installed beside the binary
cmake --install "$BUILD_DIR" --prefix "$TMP/prefix" >"$TMP/install.log" 2>&1 ||
  fail "cmake --install failed: $(tail -5 "$TMP/install.log")"
cmp -s "$PAGE" "$TMP/prefix/share/man/man8/passthroughfs.8" ||
  fail "cmake --install did not install $PAGE as share/man/man8/passthroughfs.8"
log "installed as share/man/man8/passthroughfs.8"
