#!/bin/sh
# The monitor's own cost per run with every usage from its project quota,
# against the walk of the same tree (`--walk`) and `du -s -x`, where project
# quotas work: Debian's kernel in qemu (the host kernel has none). Builds the
# mktree example, then runs the ignored test that boots the guest (tests/quota.rs,
# bench_quota_cost_in_the_guest): the package installed, the default layout with
# tier.quota = "account" on a 1 GiB ext4 (-O quota,project, prjquota), and
# bench/quota.sh inside it. One run; its figures are printed.
#
# usage: bench/quota-guest.sh [SCALE [ROUNDS]]   (defaults 0.057: ~20,000 files; 9)
set -eu
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release --quiet --locked --example mktree
JTS_HOT_BENCH_MKTREE=$target/release/examples/mktree \
JTS_HOT_BENCH_SCALE=${1:-0.057} JTS_HOT_BENCH_ROUNDS=${2:-9} \
    cargo test --locked --test quota -- --ignored --nocapture --exact bench_quota_cost_in_the_guest
