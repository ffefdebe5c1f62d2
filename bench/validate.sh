#!/usr/bin/env bash
# Benchmark: `jts-hot validate` on the default layout, against a tree that the
# real systemd-sysusers and `jts-hot setup` (systemd-tmpfiles on the tier's own
# file) created, beside the shell loop of
# `stat` calls it replaces (bench/validate-stat-loop.sh), in one hyperfine run.
# Needs root (tmpfiles must chown), hyperfine, systemd. Goal: median well under 5 ms.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
runs=${RUNS:-300}

bench_bin
bin=$BIN
root=$work/root
bench_default_tier "$root"

echo "Tree: $(find "$root/data/jts/hot" -type d | wc -l) directories made by jts-hot setup under $root"
echo "What jts-hot validate reports on it (exit status $("$bin" --default-layout validate --root "$root" >/dev/null; echo $?); WARNINGs come from this machine's mount and disk size):"
{ "$bin" --default-layout validate --root "$root" -v || true; } | sed "s/^/    /"
echo

# -i: validate exits 1 (WARNING) on a machine whose / lacks noatime or 4 TB.
hyperfine -N -i --warmup 20 --runs "$runs" --export-json "$work/bench.json" \
    -n "jts-hot validate" "$bin --default-layout validate --root $root" \
    -n "stat loop (bash)" "bash bench/validate-stat-loop.sh $root"

echo
echo "Medians over $runs runs:"
python3 - "$work/bench.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
for r in results:
    print(f"  {r['command']:<20} median {r['median'] * 1000:7.2f} ms   mean {r['mean'] * 1000:7.2f} ms ± {r['stddev'] * 1000:.2f}")
a, b = results[0]["median"], results[1]["median"]
print(f"  jts-hot validate is {b / a:.1f}x faster than the stat loop, and checks more (mount, TRIM, capacity, staleness)")
PY
