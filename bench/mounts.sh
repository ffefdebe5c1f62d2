#!/usr/bin/env bash
# Benchmark: what the mount checks of issue 20 item 3 and issue 25 item 1
# (declared mounts judged by device number, mounts declared below the base,
# dir.filesystem, mount.identity, tier.filesystem_uuid) add to `jts-hot
# validate` and to a gate, beside the build before them, in one hyperfine run.
#
# The default layout's tree on its own loop-mounted ext4 (kafka's directory on
# a second one) under a scratch root, made by the real systemd-sysusers and
# `jts-hot setup`, measured in four configurations of the root's /etc/fstab
# and layout, each by both builds:
#   none     nothing declared (the new code has nothing to judge)
#   path     the tier and kafka's disk declared by device path (device numbers,
#            dir.filesystem)
#   uuid     declared by UUID and LABEL (+ mount.identity: the names of each
#            mounted filesystem)
#   pin      as uuid, and the layout's tier.filesystem_uuid
# BEFORE=REV (default 1162315, main just before these checks landed) is built once in a
# worktree under target/bench-before (or BEFORE_BIN= names a build); it reads
# the default layout (it knows no tier.filesystem_uuid). BIN= is this build
# (default: built now).
# Needs root (loop devices, tmpfiles chown), hyperfine, systemd, mkfs.ext4.
# Goal: under 2 ms added to validate, nothing added to a gate that does not need it.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
runs=${RUNS:-200}
before_rev=${BEFORE:-1162315}

bench_bin
after=$BIN
before_tree=$PWD/target/bench-before/src
before=${BEFORE_BIN:-$PWD/target/bench-before/release/jts-hot}
if [ -n "${BEFORE_BIN:-}" ]; then
    before_rev="given ($BEFORE_BIN)"
elif [ ! -x "$PWD/target/bench-before/release/jts-hot" ] ||
    [ "$(cat "$PWD/target/bench-before/rev" 2>/dev/null)" != "$before_rev" ]; then
    rm -rf "$before_tree"
    git worktree prune
    git worktree add --detach "$before_tree" "$before_rev" >/dev/null
    (cd "$before_tree" && CARGO_TARGET_DIR=$PWD/../ cargo build --release --quiet --locked --bin jts-hot)
    git worktree remove --force "$before_tree"
    echo "$before_rev" >"$PWD/target/bench-before/rev"
fi

root=$work/root
layout=$work/layout.toml
tier_uuid=4a7e0000-0000-4000-8000-00000000d15c
"$after" config default >"$layout"
mkdir -p "$root/etc"
"$after" --config "$layout" generate --out "$root" >/dev/null
systemd-sysusers --root="$root" "$root/usr/lib/sysusers.d/jts-hot.conf" 2>/dev/null

# Two loop-mounted ext4: the tier, and kafka's own disk below it.
truncate -s 64M "$work/tier.img" "$work/kafka.img"
mkfs.ext4 -q -U "$tier_uuid" "$work/tier.img"
mkfs.ext4 -q -L kafka "$work/kafka.img"
tier_dev=$(losetup --find --show "$work/tier.img")
kafka_dev=$(losetup --find --show "$work/kafka.img")
mkdir -p "$root/data/jts/hot"
mount "$tier_dev" "$root/data/jts/hot"
mkdir -p "$root/data/jts/hot/kafka"
mount "$kafka_dev" "$root/data/jts/hot/kafka"
cleanup_mounts() {
    umount "$root/data/jts/hot/kafka" "$root/data/jts/hot" 2>/dev/null || true
    losetup -d "$kafka_dev" "$tier_dev" 2>/dev/null || true
    rm -rf "${bench_cleanup[@]}"
}
trap cleanup_mounts EXIT

configure() {
    case $1 in
    none) : >"$root/etc/fstab" ;;
    path) printf '%s /data/jts/hot ext4 defaults 0 2\n%s /data/jts/hot/kafka ext4 defaults,nofail 0 2\n' \
        "$tier_dev" "$kafka_dev" >"$root/etc/fstab" ;;
    uuid | pin) printf 'UUID=%s /data/jts/hot ext4 defaults 0 2\nLABEL=kafka /data/jts/hot/kafka ext4 defaults,nofail 0 2\n' \
        "$tier_uuid" >"$root/etc/fstab" ;;
    esac
    "$after" config default >"$layout"
    if [ "$1" = pin ]; then
        sed -i "0,/^\[tier\]$/s//[tier]\nfilesystem_uuid = \"$tier_uuid\"/" "$layout"
    fi
}

configure uuid
"$after" --config "$layout" setup --root "$root" >/dev/null
echo "The tree: $(find "$root/data/jts/hot" -xdev -type d | wc -l) directories on the tier's ext4 ($tier_dev), kafka's on $kafka_dev"
for c in none path uuid pin; do
    configure "$c"
    echo "$c: this build's validate says (exit $("$after" --config "$layout" validate --root "$root" >/dev/null; echo $?)):"
    { "$after" --config "$layout" validate --root "$root" -v || true; } | grep -v mount.trim | sed 's/^/    /'
done
echo

"$after" config default >"$work/layout-none.toml"
results=()
for c in none path uuid pin; do
    configure "$c"
    # The layout file is rewritten per configuration: copy it so each command keeps its own.
    cp "$layout" "$work/layout-$c.toml"
    for which in before after; do
        bin=$before cfg=$work/layout-none.toml
        [ "$which" = after ] && bin=$after cfg=$work/layout-$c.toml
        results+=(-n "$c validate $which" "$bin --config $cfg validate --root $root")
        results+=(-n "$c gate-pg $which" "$bin --config $cfg validate --gate --service=postgresql --root $root")
    done
    # The fstab differs per configuration: hyperfine cannot switch it between
    # commands, so each configuration is its own run.
    hyperfine -N -i --warmup 20 --runs "$runs" --export-json "$work/bench-$c.json" "${results[@]}" >/dev/null
    results=()
done

echo "Medians over $runs runs each (wall time from spawn to exit; before = $before_rev):"
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
print(f"  {'fstab/layout':<8} {'command':<10} {'before':>9} {'after':>9} {'added':>9}")
for c in ["none", "path", "uuid", "pin"]:
    r = {x["command"]: x["median"] * 1000 for x in json.load(open(f"{work}/bench-{c}.json"))["results"]}
    for what in ["validate", "gate-pg"]:
        b, a = r[f"{c} {what} before"], r[f"{c} {what} after"]
        print(f"  {c:<8} {what:<10} {b:7.2f} ms {a:7.2f} ms {a - b:+7.2f} ms")
print("  goal: under 2 ms added to validate; nothing added to a gate that does not need it")
PY
