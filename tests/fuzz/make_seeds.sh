#!/usr/bin/env bash
# Writes a small seed corpus of well-formed requests (LOOKUP, GETATTR, MKDIR,
# CREATE, WRITE, READDIRPLUS, INIT, BATCH_FORGET, ...) for both fuzz targets.
set -euo pipefail
out=$1
mkdir -p "$out/decode" "$out/session"
le32() { printf "\\x$(printf %02x $(($1 & 255)))\\x$(printf %02x $((($1 >> 8) & 255)))\\x$(printf %02x $((($1 >> 16) & 255)))\\x$(printf %02x $((($1 >> 24) & 255)))"; }
le64() { le32 "$1"; le32 0; }
# header: len opcode unique nodeid uid gid pid extlen/pad
msg() {  # opcode nodeid body-file -> stdout
  local body; body=$(mktemp); cat "$3" > "$body"
  local len=$((40 + $(stat -c %s "$body")))
  { le32 $len; le32 "$1"; le64 7; le64 "$2"; le32 0; le32 0; le32 1; le32 0; cat "$body"; }
  rm -f "$body"
}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf 'name\0' > "$tmp/lookup"
{ le32 0; le32 0; le64 0; } > "$tmp/getattr"
{ le32 $((0040755)); le32 18; printf 'dir\0'; } > "$tmp/mkdir"
{ le32 66; le32 $((0100644)); le32 18; le32 0; printf 'file\0'; } > "$tmp/create"
{ le64 1; le64 0; le32 5; le32 0; le64 0; le32 0; le32 0; printf 'hello'; } > "$tmp/write"
{ le64 1; le64 0; le32 4096; le32 0; le64 0; le32 0; le32 0; } > "$tmp/readdir"
{ le32 7; le32 45; le32 131072; le32 0; le32 0; for i in $(seq 11); do le32 0; done; } > "$tmp/init"
{ le32 1; le32 0; le64 2; le64 1; } > "$tmp/forget"
i=0
for spec in "1 1 lookup" "3 1 getattr" "9 1 mkdir" "35 1 create" "16 2 write" "44 1 readdir" \
            "26 0 init" "42 0 forget"; do
  set -- $spec
  msg "$1" "$2" "$tmp/$3" > "$out/decode/seed$i"
  # Session seeds: length-prefixed sequences.
  n=$(stat -c %s "$out/decode/seed$i")
  { printf "\\x$(printf %02x $((n & 255)))\\x$(printf %02x $((n >> 8)))"; cat "$out/decode/seed$i"; } > "$tmp/one$i"
  i=$((i + 1))
done
cat "$tmp"/one* > "$out/session/sequence"
for f in "$tmp"/one*; do cp "$f" "$out/session/$(basename "$f")"; done
