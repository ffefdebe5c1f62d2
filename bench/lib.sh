# shellcheck shell=bash
# Sourced (bash) by the bench/*.sh scripts that run on this host: the setup
# they share. After `. "$(dirname "$0")/lib.sh"`:
#   - the shell is in the repository's root, with `set -euo pipefail`;
#   - bench_bin: $BIN is the binary to measure (given, or built now, into
#     $CARGO_TARGET_DIR when set), and $work a fresh directory where a tier may
#     lie (bench_scratch), removed on exit with whatever is in $bench_cleanup;
#   - bench_default_tier ROOT: the default layout's tree under ROOT, made
#     by the real systemd-sysusers and `jts-hot setup` (systemd-tmpfiles).
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-$PWD/target}
bench_cleanup=()
trap 'rm -rf "${bench_cleanup[@]}"' EXIT

# $BIN: kept when set (e.g. an old build to compare), else the release build.
bench_bin() {
    if [ -z "${BIN:-}" ]; then
        cargo build --release --quiet --locked --bin jts-hot
        BIN=$target/release/jts-hot
    fi
    work=$(mktemp -d "$(bench_scratch)/bench.XXXXXX")
    bench_cleanup+=("$work")
}

# Where a bench may build a tier, by the rule of tests/common's scratch_root: a
# layout refuses a tier in /tmp, /home, /root... (jts-hot-layout.toml(5)), and the
# clone or the target directory may be there. $JTS_HOT_TEST_SCRATCH when set,
# else $target/tmp/scratch when jts-hot itself accepts a tier there, else
# /var/lib/jts-hot-tests.
bench_scratch() {
    if [ -n "${JTS_HOT_TEST_SCRATCH:-}" ]; then
        mkdir -p "$JTS_HOT_TEST_SCRATCH" && echo "$JTS_HOT_TEST_SCRATCH"
        return
    fi
    local dir
    mkdir -p "$target/tmp/scratch"
    dir=$(realpath "$target/tmp/scratch")
    "$BIN" --default-layout config default | sed "s|^base = .*|base = \"$dir/hot\"|" \
        >"$dir/layout-check.toml"
    if "$BIN" config check "$dir/layout-check.toml" >/dev/null 2>&1; then
        echo "$dir"
    else
        mkdir -p /var/lib/jts-hot-tests && echo /var/lib/jts-hot-tests
    fi
}

bench_default_tier() {
    local root=$1
    mkdir -p "$root/etc"
    "$BIN" --default-layout generate --out "$root" >/dev/null
    systemd-sysusers --root="$root" "$root/usr/lib/sysusers.d/jts-hot.conf" 2>/dev/null
    "$BIN" --default-layout setup --root "$root" >/dev/null
}
