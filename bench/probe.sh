#!/usr/bin/env bash
# Benchmark, not a test: `jts-hot probe`, fio and pg_test_fsync measure the
# same directory in one run, and their figures are printed side by side
# (a Markdown table, as in the README) with the ratios probe/peer.
#
#   bench/probe.sh [DIR]     # DIR: where to measure (default /var/tmp); a fresh
#                            # jts-hot-bench.XXXXXX directory is made in it and removed
# Environment: JTS_HOT (or BIN)=path of the binary (default: cargo build --release),
#              SECONDS_EACH=probe's --time and fio's runtime per job (default 10),
#              SIZE=probe's --size and fio's file size (default 256MiB).
# Needs fio and pg_test_fsync: apt-get install -y fio postgresql-15
#
# What is compared:
#  - fsync: one 8 KiB write then fdatasync, repeated, each tool overwriting
#    offset 0 of an allocated file (fio: an 8 KiB file, fdatasync=1). pg_test_fsync reports only a mean (usecs/op =
#    1e6 / ops/sec, its "fdatasync" line under "one 8kB write"), so probe's mean
#    (1e6 / ops_per_sec) is set against it; fio's p50 is its write p50 plus its
#    fdatasync p50 (it times the two calls apart).
#  - random read: 4 KiB O_DIRECT preads at queue depth 1 (fio psync, iodepth 1):
#    p50 of the call's latency (fio clat).
#  - sequential write: 1 MiB O_DIRECT writes, with the final fdatasync (fio end_fsync).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

secs=${SECONDS_EACH:-10}
size=${SIZE:-256MiB}
pg_test_fsync=${PG_TEST_FSYNC:-$(printf '%s\n' /usr/lib/postgresql/*/bin/pg_test_fsync | sort -V | tail -n1)}
for tool in fio python3; do
    command -v "$tool" >/dev/null || { echo "bench/probe.sh: $tool is missing" >&2; exit 2; }
done
if [ -z "$pg_test_fsync" ] || [ ! -x "$pg_test_fsync" ]; then
    echo "bench/probe.sh: pg_test_fsync is missing: apt-get install -y postgresql-15" >&2
    exit 2
fi
BIN=${JTS_HOT:-${BIN:-}}
bench_bin
JTS_HOT=$BIN

dir=$(mktemp -d "${1:-/var/tmp}/jts-hot-bench.XXXXXX")
bench_cleanup+=("$dir")

echo "measuring in $dir (${secs}s per tool phase, $size)" >&2
"$JTS_HOT" --default-layout probe --dir "$dir" --size "$size" --time "${secs}s" \
    --format json --state-dir "$work/state" >"$work/probe.json" || true
fio_common=(--directory="$dir" --output-format=json --runtime="$secs" --group_reporting)
fio --name=fsync "${fio_common[@]}" --rw=write --bs=8k --size=8k --fdatasync=1 \
    --ioengine=sync --time_based >"$work/fio-fsync.json"
fio --name=randread "${fio_common[@]}" --rw=randread --bs=4k --size="$size" --direct=1 \
    --ioengine=psync --iodepth=1 --time_based >"$work/fio-randread.json"
fio --name=seqwrite "${fio_common[@]}" --rw=write --bs=1m --size="$size" --direct=1 \
    --ioengine=psync --end_fsync=1 >"$work/fio-seqwrite.json"
rm -f "$dir"/*
"$pg_test_fsync" -f "$dir/pg_test_fsync.out" -s "$(( secs < 5 ? secs : 5 ))" >"$work/pg.txt"

python3 - "$work" "$dir" <<'EOF'
import json, re, sys
work, where = sys.argv[1], sys.argv[2]
probe = json.load(open(f"{work}/probe.json"))
m = probe["measurements"]
fio = lambda name: json.load(open(f"{work}/fio-{name}.json"))["jobs"][0]
p50 = lambda lat: lat["percentile"]["50.000000"] / 1000.0  # ns -> us

fs, rr, sw = fio("fsync"), fio("randread"), fio("seqwrite")
pg_text = open(f"{work}/pg.txt").read()
one_write = pg_text.split("using one 8kB write")[1].split("Compare")[0]
pg = re.search(r"^\s*fdatasync\s+([\d.]+) ops/sec\s+(\d+) usecs/op", one_write, re.M)
pg_ops, pg_us = float(pg.group(1)), float(pg.group(2))

probe_fsync_p50 = m["fsync"]["p50_us"]
probe_fsync_mean = 1e6 / m["fsync"]["ops_per_sec"]
fio_fsync_p50 = p50(fs["write"]["clat_ns"]) + p50(fs["sync"]["lat_ns"])
fio_fsync_mean = 1e6 / fs["write"]["iops"]
probe_rr_p50 = m["rand_read"]["p50_us"]
fio_rr_p50 = p50(rr["read"]["clat_ns"])
mib = 1 << 20

def ratio(a, b):
    return f"{a / b:.2f}" if b else "n/a"

dev = ", ".join(d["name"] for d in (probe.get("identity") or {}).get("devices", [])) or "?"
print(f"Directory {where} (device {dev}); probe {probe['size_bytes'] // mib} MiB, {probe['duration_seconds']:g} s\n")
print("| figure | jts-hot probe | fio | pg_test_fsync | probe/fio | probe/pg_test_fsync |")
print("|---|---:|---:|---:|---:|---:|")
rows = [
    ("fsync p50, us (8 KiB write + fdatasync)", probe_fsync_p50, fio_fsync_p50, None),
    ("fsync mean, us/op", probe_fsync_mean, fio_fsync_mean, pg_us),
    ("fsync ops/s", m["fsync"]["ops_per_sec"], fs["write"]["iops"], pg_ops),
    ("random read p50, us (4 KiB O_DIRECT, QD1)", probe_rr_p50, fio_rr_p50, None),
    ("random read IOPS (QD1)", m["rand_read"]["ops_per_sec"], rr["read"]["iops"], None),
    ("sequential write, MiB/s (1 MiB O_DIRECT)", m["seq_write"]["bytes_per_sec"] / mib,
     sw["write"]["bw_bytes"] / mib, None),
]
fmt = lambda v: "—" if v is None else f"{v:.1f}"
for name, p, f, g in rows:
    print(f"| {name} | {fmt(p)} | {fmt(f)} | {fmt(g)} | {ratio(p, f)} | {'—' if g is None else ratio(p, g)} |")

checks = [
    ("fsync p50 vs fio p50", probe_fsync_p50 / fio_fsync_p50),
    ("fsync mean vs pg_test_fsync mean (it gives no percentiles)", probe_fsync_mean / pg_us),
    ("random read p50 vs fio p50", probe_rr_p50 / fio_rr_p50),
]
print()
for name, r in checks:
    print(f"{name}: ratio {r:.2f}, {'within' if 0.5 <= r <= 2.0 else 'NOT within'} 2x")
EOF
