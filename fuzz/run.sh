#!/usr/bin/env bash
# The layout fuzz campaign on STABLE Rust: libfuzzer-sys's libFuzzer, with the
# coverage instrumentation cargo-fuzz would add, passed by hand (cargo-fuzz
# itself is not needed). Usage: fuzz/run.sh [RUNS_PER_JOB] [JOBS]
# Runs at nice 19; the working corpus and any crash go to target/fuzz-work/.
set -euo pipefail
cd "$(dirname "$0")"
runs=${1:-5000000}
jobs=${2:-2}
export CARGO_TARGET_DIR="$PWD/../target/fuzz"
triple=$(rustc -vV | sed -n 's/^host: //p')
RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks" \
    nice -n 19 cargo build --release --target "$triple" --bin layout
bin="$CARGO_TARGET_DIR/$triple/release/layout"
work="$PWD/../target/fuzz-work"
mkdir -p "$work/corpus" "$work/artifacts"
cd "$work"
# Each job runs RUNS inputs; libFuzzer writes job N's log to fuzz-N.log.
nice -n 19 "$bin" -dict="$OLDPWD/layout.dict" -runs="$runs" -jobs="$jobs" -workers="$jobs" \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
    "$work/corpus" "$OLDPWD/corpus/layout"
