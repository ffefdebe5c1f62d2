#!/usr/bin/env bash
# The walk on the shapes a service user can build, against GNU du in one run:
# a chain 100,000 directories deep and a directory of 1,000,000 entries (the
# trees tests/faults.rs builds and keeps in target/tmp/faults-*; run
# `cargo test --test faults` once first). Warm cache, ROUNDS rounds each
# (default 3), medians of wall time and peak RSS; BEFORE= runs another build too.
#
# usage: bench/walk-shapes.sh [ROUNDS]
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
rounds=${1:-3}
[ -x /usr/bin/time ] || { echo "/usr/bin/time not found: apt-get install time" >&2; exit 2; }
bench_bin
for t in faults-chain faults-wide; do
    [ -f "target/tmp/$t/complete" ] || { echo "no target/tmp/$t: run cargo test --test faults first" >&2; exit 2; }
done
# measure NAME SHAPE CMD...: appends "name shape wall rss_kb".
measure() {
    local name=$1 shape=$2; shift 2
    /usr/bin/time -o "$work/t" -f "%e %M" "$@" > /dev/null 2>&1 || true
    read -r wall rss < <(tail -n 1 "$work/t")
    echo "$name $shape $wall $rss" >> "$work/results"
}
: > "$work/results"
for shape in chain:faults-chain:kafka wide:faults-wide:redis; do
    IFS=: read -r label tree svc <<< "$shape"
    base=$(realpath "target/tmp/$tree/hot")
    printf '[tier]\nbase = "%s"\nowner = "root"\ngroup = "root"\nmode = "0755"\ncapacity = "4TB"\n[monitor]\nevery = "15min"\ntextfile_dir = "/nonexistent"\n[services.%s]\nowner = "root"\ngroup = "root"\nmode = "0755"\nplanned = "1TB"\ngate = []\ndirs = ["data"]\n' "$base" "$svc" > "$work/$label.toml"
    du -s -x "$base/$svc" > /dev/null   # warm the cache
    for ((i = 0; i < rounds; i++)); do
        rm -rf "$work/state"
        measure jts-hot "$label" "$BIN" --config "$work/$label.toml" monitor --walk --format json --state-dir "$work/state"
        if [ -n "${BEFORE:-}" ]; then
            rm -rf "$work/state"
            measure before "$label" timeout 120 "$BEFORE" --config "$work/$label.toml" monitor --walk --format json --state-dir "$work/state"
        fi
        measure du "$label" du -s -x "$base/$svc"
    done
done
python3 - "$work/results" <<'PY'
import sys, statistics as st
rows = [l.split() for l in open(sys.argv[1])]
data = {}
for name, shape, wall, rss in rows:
    data.setdefault((shape, name), []).append((float(wall), int(rss)))
print(f"{'shape':<7} {'tool':<8} {'runs':>4} {'wall s':>8} {'peak RSS':>10} {'wall/du':>8}")
for shape in ("chain", "wide"):
    ref = st.median(r[0] for r in data[(shape, "du")])
    for name in ("jts-hot", "before", "du"):
        runs = data.get((shape, name))
        if not runs:
            continue
        wall = st.median(r[0] for r in runs); rss = max(r[1] for r in runs) / 1024
        print(f"{shape:<7} {name:<8} {len(runs):>4} {wall:>8.3f} {rss:>6.1f} MiB {wall / ref:>7.2f}x")
PY
