#!/bin/sh
# Benchmark of `jts-hot monitor` reading usage from project quotas against
# walking (`--walk`) and against `du -s -x` of the tier, on the synthetic tree (tests/common/mktree.rs) built under a tier
# whose service directories carry their projects. ONE run, alternating the
# two round by round, warm cache; prints the median of the monitor's own
# scan.duration_seconds (the usage figures: quotactl or walk, plus statvfs) and
# of the whole command's wall time.
#
# Runs where project quotas work: in the qemu guest (Debian's kernel; the
# host kernel here has none), as root, with jts-hot installed, the tier
# mounted with prjquota and `jts-hot quota set` done (tier.quota = "account"
# or "enforce"). Copy the mktree example binary in (cargo build --release
# --example mktree; target/release/examples/mktree).
#
# bench/quota-guest.sh does all of that on the host: it boots the guest and runs this.
#
# usage: bench/quota.sh MKTREE_BINARY [SCALE [ROUNDS]]   (defaults 0.1 and 9)
set -eu
mktree=$1
scale=${2:-0.1}
rounds=${3:-9}
# config check: 0 valid, 1 valid but over-committed, 2 invalid.
base=$( { jts-hot config check "${JTS_HOT_CONFIG:-/etc/jts/hot-layout.toml}" >/dev/null || [ $? -eq 1 ]; } && \
       sed -n 's/^base *= *"\(.*\)"/\1/p' "${JTS_HOT_CONFIG:-/etc/jts/hot-layout.toml}" | head -1)
state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT

start=$(date +%s.%N)
"$mktree" "$base" "$scale" >&2
sync
echo "tree: SCALE $scale under $base built in $(awk "BEGIN {print $(date +%s.%N) - $start}") s;" \
     "$(find "$base" -xdev | wc -l) entries" >&2

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
scan() { jts-hot monitor --format json --state-dir "$state" "$@" | \
         sed -n 's/^ *"duration_seconds": \([0-9.e-]*\).*/\1/p' | head -1; }

: >"$state/quota.scan"; : >"$state/walk.scan"; : >"$state/quota.wall"; : >"$state/walk.wall"; : >"$state/du.wall"
# One warm-up of each, then the rounds.
scan >/dev/null; scan --walk >/dev/null
i=0
while [ "$i" -lt "$rounds" ]; do
    for how in quota walk; do
        flag=; [ "$how" = walk ] && flag=--walk
        t0=$(date +%s.%N)
        scan $flag >>"$state/$how.scan"
        awk "BEGIN {print $(date +%s.%N) - $t0}" >>"$state/$how.wall"
    done
    t0=$(date +%s.%N)
    du -s -x "$base" >/dev/null
    awk "BEGIN {print $(date +%s.%N) - $t0}" >>"$state/du.wall"
    i=$((i + 1))
done
doc=$(jts-hot monitor --format json --state-dir "$state" || true)  # exit 1: a WARNING tier
sources=$(echo "$doc" | grep -c '"usage_source": "quota"' || true)
threads=$(echo "$doc" | sed -n 's/^ *"threads": \([0-9]*\).*/\1/p' | head -1)
echo "services read from their quota: $sources; walker threads in that run: $threads"
for how in quota walk; do
    echo "$how: scan median $(median <"$state/$how.scan") s, whole command median $(median <"$state/$how.wall") s ($rounds rounds)"
done
echo "du -s -x $base: median $(median <"$state/du.wall") s"
q=$(median <"$state/quota.scan"); w=$(median <"$state/walk.scan")
echo "quota scan / walk scan: $(awk "BEGIN {printf \"%.4f\", $q / $w}")"
