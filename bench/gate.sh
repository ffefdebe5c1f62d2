#!/usr/bin/env bash
# Benchmark: what jts-hot adds to every start of a gated database, i.e. its
# drop-in's `ExecStartPre=+/usr/bin/jts-hot validate --gate --service=NAME`,
# for the default layout, against a tree that the real systemd-sysusers and
# `jts-hot setup` (systemd-tmpfiles on the tier's own file) created under a
# scratch root.
# Beside it: /bin/true, the floor of any ExecStartPre= process, and the whole
# validation that jts-hot-validate.service runs once per boot.
# Needs root (tmpfiles must chown), hyperfine, systemd. Goal: median < 5 ms.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
runs=${RUNS:-500}

bench_bin
bin=$BIN
root=$work/root
bench_default_tier "$root"

gate="$bin --default-layout validate --gate --root $root"
echo "The gate of postgresql.service on a sound tree (exit $($gate --service=postgresql >/dev/null; echo $?)):"
$gate --service=postgresql -v | sed 's/^/    /' || true
echo

# -i: a tier that is CRITICAL here (a gate exits 2) is still timed.
hyperfine -N -i --warmup 50 --runs "$runs" --export-json "$work/bench.json" \
    -n "/bin/true (any ExecStartPre= process)" "/bin/true" \
    -n "gate postgresql" "$gate --service=postgresql" \
    -n "gate clickhouse" "$gate --service=clickhouse" \
    -n "gate postgresql+clickhouse+kafka" "$gate --service=postgresql --service=clickhouse --service=kafka" \
    -n "whole validate (once per boot)" "$bin --default-layout validate --root $root"

echo
echo "Medians over $runs runs (wall time from spawn to exit):"
python3 - "$work/bench.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
floor = results[0]["median"]
for r in results:
    print(f"  {r['command']:<40} median {r['median'] * 1000:6.2f} ms   mean {r['mean'] * 1000:6.2f} ms ± {r['stddev'] * 1000:.2f}   max {r['max'] * 1000:6.2f} ms")
g = results[1]["median"]
print(f"  jts-hot's gate adds {g * 1000:.2f} ms per database start ({(g - floor) * 1000:.2f} ms above /bin/true); goal < 5 ms")
PY
