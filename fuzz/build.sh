#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# OSS-Fuzz style build: compiles the tree with $CC/$CFLAGS into a temporary CMake build dir,
# links every fuzz_<target> with $LIB_FUZZING_ENGINE and copies the binaries to $OUT with their
# seed corpora (fuzz_<target>_seed_corpus.zip), dictionaries (fuzz_<target>.dict) and options
# (fuzz_<target>.options).
# Defaults for a local run: CC=clang, CFLAGS with ASan+UBSan, LIB_FUZZING_ENGINE=-fsanitize=fuzzer,
# OUT=./out.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
: "${CC:=clang}"
: "${CFLAGS:=-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fsanitize=fuzzer-no-link}"
: "${LIB_FUZZING_ENGINE:=-fsanitize=fuzzer}"
: "${OUT:=$PWD/out}"
mkdir -p "$OUT"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Sanitizer flags also go to the link of every binary (protoc-c runs at build time, not linked).
san_link=$(printf '%s\n' $CFLAGS | grep -E '^-fsanitize=' | grep -v 'fuzzer' | tr '\n' ' ' || true)
CC="$CC" cmake -G Ninja -S "$src" -B "$work" -DCMAKE_BUILD_TYPE=None \
  -DCMAKE_C_FLAGS="$CFLAGS" -DCMAKE_EXE_LINKER_FLAGS="$san_link" \
  -DVC_BUILD_TESTS=OFF -DVC_FUZZ_ENGINE="$LIB_FUZZING_ENGINE" >/dev/null
targets=$(cd "$src/fuzz" && ls fuzz_*.c | sed 's/\.c$//')
# shellcheck disable=SC2086
cmake --build "$work" -j "$(nproc)" --target $targets
for t in $targets; do
  name=${t#fuzz_}
  cp "$work/fuzz/$t" "$OUT/"
  if [[ -d "$src/fuzz/corpus/$name" ]]; then
    (cd "$src/fuzz/corpus/$name" && zip -q -j "$OUT/${t}_seed_corpus.zip" ./* 2>/dev/null) || true
  fi
  if [[ -f "$src/fuzz/$t.options" ]]; then
    cp "$src/fuzz/$t.options" "$OUT/"
  fi
  case "$name" in
    ttrpc_* | mockagent_server | agent_response | session) cp "$src/fuzz/dict/ttrpc.dict" "$OUT/$t.dict" ;;
    qmp) cp "$src/fuzz/dict/qmp.dict" "$OUT/$t.dict" ;;
  esac
done
echo "fuzz/build.sh: $(echo $targets | wc -w) targets in $OUT"
