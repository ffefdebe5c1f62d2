#!/usr/bin/env bash
# The monitor history's cost per run at scale: N services (empty directories)
# with D days of 15-minute samples in a schema-1 history (as releases before
# schema 2 wrote it, read and rewritten whole every run), one `jts-hot monitor`
# run each of: the build in $BEFORE (optional) on that file; this build on it
# (it reads schema 1 once and saves it merged); this build again on what it
# saved (every later run). Wall time, peak RSS and the file's size, side by side.
#
# usage: bench/history.sh [SERVICES [DAYS]]        (defaults 1000 and 35)
# env:   BEFORE=/path/to/old/jts-hot   BIN=/path/to/jts-hot (default: release build)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
services=${1:-1000}
days=${2:-35}
[ -x /usr/bin/time ] || { echo "/usr/bin/time not found: apt-get install time" >&2; exit 2; }
bench_bin
base=$work/hot
mkdir -p "$base"
python3 - "$base" "$services" "$days" "$work/layout.toml" "$work/history-v1.json" <<'PY'
import json, os, sys, time
base, n, days, layout, hist = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
names = [f"s{i:05d}" for i in range(n)]
with open(layout, "w") as f:
    f.write(f'[tier]\nbase = "{base}"\nowner = "root"\ngroup = "root"\nmode = "0755"\ncapacity = "4TB"\n'
            '[monitor]\nevery = "15min"\ntextfile_dir = "/nonexistent"\n')
    for s in names:
        os.makedirs(f"{base}/{s}/data", exist_ok=True)
        f.write(f'[services.{s}]\nowner = "root"\ngroup = "root"\nmode = "0755"\nplanned = "1GB"\n'
                'gate = []\ndirs = ["data"]\n')
now = int(time.time()) - 3600
runs = days * 96
with open(hist, "w") as f:
    f.write('{"schema":"jts-hot.monitor-history/1","version":1,"samples":[')
    for r in range(runs):
        t = now - (runs - 1 - r) * 900
        f.write(("," if r else "") + json.dumps({"t": t, "fs_used": 10**9 + r * 1000,
                 "services": {s: 4096 + r * 10 for s in names}}, separators=(",", ":")))
    f.write("]}\n")
PY
# one LABEL BIN: a run with the state directory as it is; prints a row.
one() {
    local label=$1 bin=$2
    /usr/bin/time -o "$work/t" -f "%e %M" "$bin" --config "$work/layout.toml" monitor \
        --format json --state-dir "$work/state" > "$work/out.json" || [ $? -le 2 ]
    # (time writes "Command exited with non-zero status 1" first on a WARNING)
    read -r wall rss < <(tail -n 1 "$work/t")
    local size
    size=$(stat -c %s "$work/state/monitor-history.json")
    printf "%-34s %8s s %10.1f MiB %10.1f MiB\n" "$label" "$wall" "$(echo "$rss / 1024" | bc -l)" \
        "$(echo "$size / 1048576" | bc -l)"
}
fresh() { rm -rf "$work/state"; mkdir -p "$work/state"; cp "$work/history-v1.json" "$work/state/monitor-history.json"; }
echo "$services services, $days days of 15-minute samples ($(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
printf "%-34s %10s %14s %14s\n" "run" "wall" "peak RSS" "file after"
if [ -n "${BEFORE:-}" ]; then
    fresh; one "before (schema 1, every run)" "$BEFORE"
fi
fresh; one "this build, first run (reads 1)" "$BIN"
one "this build, every later run" "$BIN"
one "this build, every later run" "$BIN"
