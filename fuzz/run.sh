#!/usr/bin/env bash
# A fuzz campaign on STABLE Rust: libfuzzer-sys's libFuzzer, with the
# coverage instrumentation cargo-fuzz would add, passed by hand (cargo-fuzz
# itself is not needed). Usage: fuzz/run.sh [TARGET] [RUNS_PER_JOB] [JOBS]
# TARGET is a name in fuzz_targets/ (default layout; a number first is read
# as RUNS_PER_JOB for layout, as before). Runs at nice 19; the working
# corpus and any crash go to target/fuzz-work/TARGET/ (layout: target/fuzz-work/).
set -euo pipefail
cd "$(dirname "$0")"
target=layout
if [[ $# -gt 0 && ! $1 =~ ^[0-9]+$ ]]; then target=$1; shift; fi
runs=${1:-5000000}
jobs=${2:-2}
shift $(( $# < 2 ? $# : 2 ))
[[ -f fuzz_targets/$target.rs ]] || { echo "no fuzz target $target" >&2; exit 2; }
export CARGO_TARGET_DIR="$PWD/../target/fuzz"
triple=$(rustc -vV | sed -n 's/^host: //p')
RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks" \
    nice -n 19 cargo build --release --target "$triple" --bin "$target"
bin="$CARGO_TARGET_DIR/$triple/release/$target"
work="$PWD/../target/fuzz-work"
[[ $target == layout ]] || work="$work/$target"
mkdir -p "$work/corpus" "$work/artifacts"
dict=()
[[ -f $target.dict ]] && dict=(-dict="$PWD/$target.dict")
seeds="$PWD/corpus/$target"
cd "$work"
# Each job runs RUNS inputs; libFuzzer writes job N's log to fuzz-N.log.
nice -n 19 "$bin" "${dict[@]}" -runs="$runs" -jobs="$jobs" -workers="$jobs" \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$@" \
    "$work/corpus" "$seeds"
