#!/usr/bin/env bash
# Benchmark: `jts-hot validate` against N services (2 subdirectories each,
# 3N+1 planned directories), every directory in place, to show that validate
# is linear in the planned directories. Usage: bench/validate-scale.sh [N...]
# (default 1000 2000 4000). BIN=path uses another binary (e.g. an old build).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
bench_bin
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 2000 4000)
for n in "${sizes[@]}"; do
    base=$work/hot-$n
    python3 - "$base" "$n" >"$work/layout-$n.toml" <<'PY'
import sys
base, n = sys.argv[1], int(sys.argv[2])
print(f'[tier]\nbase = "{base}"\nowner = "root"\ngroup = "root"\nmode = "0755"\ncapacity = "4TB"\n')
for i in range(n):
    print(f'[services.s{i}]\nowner = "root"\ngroup = "root"\nmode = "0755"\nplanned = "1GB"\ndirs = ["data", "logs"]\nproject_id = {100000 + i}\n')
PY
    mkdir -p "$base"
    (cd "$base" && for i in $(seq 0 $((n - 1))); do mkdir -p "s$i/data" "s$i/logs"; done)
    start=$EPOCHREALTIME
    "$BIN" --config "$work/layout-$n.toml" validate --format json >"$work/out.json" || true
    end=$EPOCHREALTIME
    dirs=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["directories"])' "$work/out.json")
    printf '%6d services, %6d directories: validate %8.3f s\n' "$n" "$dirs" "$(awk "BEGIN { print $end - $start }")"
done
