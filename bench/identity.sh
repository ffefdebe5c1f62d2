#!/usr/bin/env bash
# Benchmark: what issue 25 items 2 and 3 add to `jts-hot validate` and to a
# gate, beside the build before them, in one hyperfine run per case:
#   mount.shadowed  a detached read-only clone of the parent mount (open_tree,
#                   mount_setattr), the directory beneath the base listed and,
#                   when something is there, walked; a whole-tier run only;
#   dir.owner.remap one more lstat per planned directory, in every run (a gate
#                   too: it must refuse a renumbered service).
# The default layout's tree on a loop-mounted ext4 at a scratch base (a live
# mount, not --root: an image has nothing mounted to look beneath), measured:
#   empty    nothing beneath the mount point (the normal case)
#   dump     50 MB in one file and two directories beneath it
#   record   as dump, validate without CAP_SYS_ADMIN (as the sandboxed units
#            run it): setup's record read from the state directory
# each with `validate` and `validate --gate --service=postgresql`.
# BEFORE=REV (default 6e640de, main just before these checks landed) is built once in a
# worktree under target/bench-before-identity (or BEFORE_BIN= names a build).
# BIN= is this build (default: built now). Needs root, hyperfine, mkfs.ext4, setpriv.
# Goal: under 2 ms added to validate, nothing added to a gate that does not need it.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
runs=${RUNS:-200}
before_rev=${BEFORE:-6e640de}

bench_bin
after=$BIN
out=$PWD/target/bench-before-identity
before=${BEFORE_BIN:-$out/release/jts-hot}
if [ -n "${BEFORE_BIN:-}" ]; then
    before_rev="given ($BEFORE_BIN)"
elif [ ! -x "$out/release/jts-hot" ] || [ "$(cat "$out/rev" 2>/dev/null)" != "$before_rev" ]; then
    rm -rf "$out/src"
    git worktree prune
    git worktree add --detach "$out/src" "$before_rev" >/dev/null
    (cd "$out/src" && CARGO_TARGET_DIR=$out cargo build --release --quiet --locked --bin jts-hot)
    git worktree remove --force "$out/src"
    echo "$before_rev" >"$out/rev"
fi

base=$work/hot
state=$work/state
layout=$work/layout.toml
"$after" config default | sed "s|^base = .*|base = \"$base\"|" >"$layout"
truncate -s 256M "$work/tier.img"
mkfs.ext4 -q "$work/tier.img"
dev=$(losetup --find --show "$work/tier.img")
mkdir -p "$base"
cleanup_mount() {
    umount "$base" 2>/dev/null || true
    losetup -d "$dev" 2>/dev/null || true
    rm -rf "${bench_cleanup[@]}"
}
trap cleanup_mount EXIT
mount -o noatime "$dev" "$base"
# The planned directories (their owners need not exist here: both builds
# report the same account findings).
for d in $(sed -n 's/^\[services\.\(.*\)\]$/\1/p' "$layout"); do
    mkdir -p "$base/$d/data" "$base/$d/logs"
done

case_setup() {
    umount "$base"
    rm -rf "${base:?}"/*
    if [ "$1" != empty ]; then
        mkdir -p "$base/backup/staging"
        head -c $((50 << 20)) /dev/zero >"$base/backup/staging/dump.bin"
    fi
    mount -o noatime "$dev" "$base"
    rm -rf "$state"
    mkdir -p "$state"
}

nocap="setpriv --bounding-set=-sys_admin --inh-caps=-sys_admin"
declare -A said
for c in empty dump record; do
    case_setup "$c"
    cmds=()
    pre=""
    [ "$c" = record ] && pre="$nocap "
    for which in before after; do
        bin=$before
        [ "$which" = after ] && bin=$after
        cmds+=(-n "$c validate $which" "${pre}$bin --config $layout validate --state-dir $state")
        cmds+=(-n "$c gate-pg $which" "${pre}$bin --config $layout validate --gate --service=postgresql --state-dir $state")
    done
    if [ "$c" = record ]; then
        # setup's record, as jts-hot-setup.service writes it at boot.
        cat >"$state/shadowed.json" <<JSON
{"schema": "jts-hot.shadowed/1", "measured_unix": $(date +%s), "found": [{"mount_point": "$base",
 "path": "$base", "bytes": $((50 << 20)), "files": 1, "dirs": 2, "first": ["backup"], "partial": false}]}
JSON
    fi
    said[$c]=$({ $pre"$after" --config "$layout" validate --state-dir "$state" || true; } | grep mount.shadowed || echo "(no mount.shadowed finding)")
    hyperfine -N -i --warmup 20 --runs "$runs" --export-json "$work/bench-$c.json" "${cmds[@]}" >/dev/null
done
for c in empty dump record; do
    echo "$c: this build says: ${said[$c]}"
done
echo
echo "Medians over $runs runs each (wall time from spawn to exit; before = $before_rev):"
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
print(f"  {'case':<8} {'command':<10} {'before':>9} {'after':>9} {'added':>9}")
for c in ["empty", "dump", "record"]:
    r = {x["command"]: x["median"] * 1000 for x in json.load(open(f"{work}/bench-{c}.json"))["results"]}
    for what in ["validate", "gate-pg"]:
        b, a = r[f"{c} {what} before"], r[f"{c} {what} after"]
        print(f"  {c:<8} {what:<10} {b:7.2f} ms {a:7.2f} ms {a - b:+7.2f} ms")
print("  goal: under 2 ms added to validate; nothing added to a gate that does not need it")
PY
