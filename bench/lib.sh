# shellcheck shell=bash
# Sourced (bash) by the bench/*.sh scripts that run on this host: the setup
# they share. After `. "$(dirname "$0")/lib.sh"`:
#   - the shell is in the repository's root, with `set -euo pipefail`;
#   - $work is a fresh directory under target/tmp (a layout may not place a
#     tier in /tmp), removed on exit with whatever is in $bench_cleanup;
#   - bench_bin: $BIN is the binary to measure (given, or built now);
#   - bench_default_tier ROOT: the default layout's tree under ROOT, made
#     by the real systemd-sysusers and `jts-hot setup` (systemd-tmpfiles).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p target/tmp
work=$(mktemp -d "$PWD/target/tmp/bench.XXXXXX")
bench_cleanup=("$work")
trap 'rm -rf "${bench_cleanup[@]}"' EXIT

# $BIN: kept when set (e.g. an old build to compare), else the release build.
bench_bin() {
    if [ -z "${BIN:-}" ]; then
        cargo build --release --quiet --locked --bin jts-hot
        BIN=$PWD/target/release/jts-hot
    fi
}

bench_default_tier() {
    local root=$1
    mkdir -p "$root/etc"
    "$BIN" --default-layout generate --out "$root" >/dev/null
    systemd-sysusers --root="$root" "$root/usr/lib/sysusers.d/jts-hot.conf" 2>/dev/null
    # 1: set up, with warnings (this machine's mount, disk size) left to the operator.
    "$BIN" --default-layout setup --root "$root" >/dev/null || [ $? -eq 1 ]
}
