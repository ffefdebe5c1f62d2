#!/usr/bin/env bash
# Benchmark of `jts-hot monitor --format json` against diskus and GNU du on
# the synthetic tree (tests/common/mktree.rs, SCALE 1.0, ~350k files).
# In ONE run, alternating the tools round by round, it measures wall time,
# CPU time (user+sys) and peak RSS with a warm cache, with a cold cache
# (sync; drop_caches before each run), and under the monitor unit's idle
# scheduling (chrt -i 0 ionice -c3 nice -n19). Prints medians and ratios.
#
# usage: bench/monitor.sh [WARM_ROUNDS [COLD_ROUNDS]]     (defaults 11 and 5)
# env:   JTS_HOT_BENCH_SCALE=S   the tree's SCALE (default 1.0; 0.02 for a quick check)
#        JTS_HOT_BENCH_TREE=DIR  where the tree is kept (default mktree-SCALE in the
#                                scratch root, bench_scratch: 1.0 shared with tests/monitor.rs)
#        JTS_HOT_THREADS=N       pass --threads N to jts-hot
#        JTS_HOT_BENCH_IDLE=0    skip the idle-scheduling rounds (on a machine loaded by
#                                others they starve and the run never ends)
#        BEFORE=PATH             another jts-hot build (e.g. an older commit's) timed in the
#                                same rounds as "before", so a change is measured before and
#                                after in one run, under the same load
# needs: root (drop_caches), /usr/bin/time (apt-get install time), diskus
#        (cargo install --locked diskus); .ci/run installs both.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
warm_rounds=${1:-11}
cold_rounds=${2:-5}
diskus=$(command -v diskus || echo "$HOME/.cargo/bin/diskus")
[ -x "$diskus" ] || { echo "diskus not found: cargo install diskus" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time not found: apt-get install time" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "needs root to drop caches" >&2; exit 2; }

bench_bin
bin=$BIN
scale=${JTS_HOT_BENCH_SCALE:-1.0}
tree=${JTS_HOT_BENCH_TREE:-$(bench_scratch)/mktree-$scale}

# The tree, built once and reused while its generator is unchanged (the same
# stamp as tests/monitor.rs writes, so either may build it for the other).
stamp=$(sha256sum tests/common/mktree.rs | cut -d' ' -f1)
if [ "$(cat "$tree/complete" 2>/dev/null)" != "$stamp" ]; then
    rm -rf "$tree"; mkdir -p "$tree"
    echo "building the SCALE $scale tree in $tree ..." >&2
    cargo run --release --quiet --example mktree -- "$tree/hot" "$scale" >&2
    echo "$stamp" > "$tree/complete"
fi
base=$(realpath "$tree/hot")

# The built-in layout, with its base moved onto the tree.
"$bin" --default-layout config default | sed "s|^base = .*|base = \"$base\"|" > "$work/layout.toml"
threads=()
[ -n "${JTS_HOT_THREADS:-}" ] && threads=(--threads "$JTS_HOT_THREADS")

jts=("$bin" --config "$work/layout.toml" monitor --format json --state-dir "$work/state" "${threads[@]}")
before=()
[ -n "${BEFORE:-}" ] && before=("$BEFORE" --config "$work/layout.toml" monitor --format json \
    --state-dir "$work/state-before" "${threads[@]}")
dsk=("$diskus" "$base")
gdu=(du -s "$base")
idle=(chrt -i 0 ionice -c3 nice -n19)

# measure NAME MODE CMD...: one run, appends "name mode wall cpu rss_kb" to results.
measure() {
    local name=$1 mode=$2; shift 2
    if [ "${mode#cold}" != "$mode" ]; then sync; echo 3 > /proc/sys/vm/drop_caches; fi
    # Exit 1 or 2 (WARNING, CRITICAL) is fine: a status, not a failure of the run.
    /usr/bin/time -o "$work/t" -f "%e %U %S %M" "$@" > /dev/null || [ $? -le 2 ]
    # GNU time writes "Command exited with non-zero status N" first then: the
    # figures are always its last line.
    tail -n 1 "$work/t" | awk -v n="$name" -v m="$mode" \
        '{ printf "%s %s %s %.2f %s\n", n, m, $1, $2 + $3, $4 }' >> "$work/results"
}

round() {
    local mode=$1 prefix=() order
    [ "${mode%idle}" != "$mode" ] && prefix=("${idle[@]}")
    # Alternate who goes first, so no tool always inherits the same cache state.
    if (( RANDOM % 2 )); then order="jts before diskus du"; else order="du diskus before jts"; fi
    for t in $order; do
        case $t in
            jts) measure jts-hot "$mode" "${prefix[@]}" "${jts[@]}" ;;
            before) [ -z "${BEFORE:-}" ] || measure before "$mode" "${prefix[@]}" "${before[@]}" ;;
            diskus) measure diskus "$mode" "${prefix[@]}" "${dsk[@]}" ;;
            du) measure du "$mode" "${prefix[@]}" "${gdu[@]}" ;;
        esac
    done
}

status=0; "${jts[@]}" >/dev/null || status=$?
[ -z "${BEFORE:-}" ] || "${before[@]}" >/dev/null || [ $? -le 2 ]
echo "tree: $base ($(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg));" \
     "jts-hot monitor exits $status on it (1 WARNING, 2 CRITICAL: measured all the same)" >&2
round warm-discard >/dev/null   # fill the cache; not counted
: > "$work/results"
idle_rounds=${JTS_HOT_BENCH_IDLE:-1}
for ((i = 0; i < warm_rounds; i++)); do round warm; [ "$idle_rounds" = 0 ] || round warm-idle; done
for ((i = 0; i < cold_rounds; i++)); do round cold; [ "$idle_rounds" = 0 ] || round cold-idle; done

python3 - "$work/results" <<'PY'
import sys, statistics as st
rows = [l.split() for l in open(sys.argv[1])]
data = {}
for name, mode, wall, cpu, rss in rows:
    data.setdefault((mode, name), []).append((float(wall), float(cpu), int(rss)))
print(f"{'mode':<10} {'tool':<8} {'runs':>4} {'wall s':>8} {'cpu s':>8} {'peak RSS':>10} {'wall/diskus':>12} {'cpu/diskus':>11}")
for mode in ("warm", "warm-idle", "cold", "cold-idle"):
    ref = data.get((mode, "diskus"))
    for name in ("jts-hot", "before", "diskus", "du"):
        runs = data.get((mode, name))
        if not runs:
            continue
        wall = st.median(r[0] for r in runs); cpu = st.median(r[1] for r in runs)
        rss = max(r[2] for r in runs) / 1024
        rw = wall / st.median(r[0] for r in ref); rc = cpu / st.median(r[1] for r in ref)
        print(f"{mode:<10} {name:<8} {len(runs):>4} {wall:>8.3f} {cpu:>8.3f} {rss:>7.1f} MiB {rw:>11.2f}x {rc:>10.2f}x")
# With BEFORE: this build against it, mode by mode (below 1: faster now).
for mode in ("warm", "warm-idle", "cold", "cold-idle"):
    now, then = data.get((mode, "jts-hot")), data.get((mode, "before"))
    if now and then:
        w = st.median(r[0] for r in now) / st.median(r[0] for r in then)
        c = st.median(r[1] for r in now) / st.median(r[1] for r in then)
        print(f"{mode:<10} jts-hot/before: wall {w:.2f}x, cpu {c:.2f}x")
PY
