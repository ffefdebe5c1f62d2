#!/usr/bin/env bash
# Benchmark: `jts-hot status` (the one screen: layout in force, pending edit,
# a full validation, units, last monitor run) on the default layout, beside
# `jts-hot validate` (the core of its work) and `jts-hot monitor` (the other
# command an operator would run for the same questions), in one hyperfine run.
# The default layout with its base moved into a tree that the real
# systemd-sysusers and `jts-hot setup` made. Needs root, hyperfine, systemd.
# Goal: status's median under 50 ms ("fast enough to type without thinking").
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
runs=${RUNS:-200}

bench_bin
bin=$BIN
root=$work/root
bench_default_tier "$root"
layout=$work/hot-layout.toml
"$bin" config default | sed "s|^base = \"/data/jts/hot\"|base = \"$root/data/jts/hot\"|" >"$layout"
state=$work/state
mkdir -p "$state"
# One monitor run first, so status has a last run to show.
"$bin" --config "$layout" monitor --state-dir "$state" >/dev/null || true

echo "What jts-hot status shows on it (exit status $("$bin" --config "$layout" status --state-dir "$state" >/dev/null; echo $?)):"
{ "$bin" --config "$layout" status --state-dir "$state" || true; } | sed "s/^/    /"
echo

# -i: each exits 1 or 2 on this machine (no noatime, not 4 TB, users only in the tree's passwd).
hyperfine -N -i --warmup 10 --runs "$runs" --export-json "$work/bench.json" \
    -n "jts-hot status" "$bin --config $layout status --state-dir $state" \
    -n "jts-hot validate" "$bin --config $layout validate" \
    -n "jts-hot monitor" "$bin --config $layout monitor --state-dir $state"

echo
echo "Medians over $runs runs:"
python3 - "$work/bench.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
for r in results:
    print(f"  {r['command']:<18} median {r['median'] * 1000:7.2f} ms   mean {r['mean'] * 1000:7.2f} ms ± {r['stddev'] * 1000:.2f}")
status = results[0]["median"] * 1000
print(f"  jts-hot status: {status:.1f} ms, {'under' if status < 50 else 'OVER'} the 50 ms goal")
PY
