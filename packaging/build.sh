#!/usr/bin/env bash
# Builds the .deb and the .rpm of jts-hot from Cargo.toml's metadata, units/
# and packaging/. Needs cargo-deb and cargo-generate-rpm
# (cargo install --locked cargo-deb cargo-generate-rpm).
#
# Usage: packaging/build.sh
# The last two lines of its output are the paths of the .deb and the .rpm
# (other scripts rely on that; keep it).
set -euo pipefail
cd "$(dirname "$0")/.."
# The package metadata (Cargo.toml) names target/release and target/packaging in
# this tree: build there even when the caller's CARGO_TARGET_DIR points elsewhere.
unset CARGO_TARGET_DIR

stage=target/packaging
bin=target/release/jts-hot

cargo build --release --locked

# The packages ship units/ as committed; refuse to package a stale copy.
fresh=$(mktemp -d)
trap 'rm -rf "$fresh"' EXIT
"$bin" --default-layout generate --out "$fresh" >/dev/null
if ! diff -r "$fresh" units >&2; then
    echo "units/ is stale: run 'jts-hot --default-layout generate --out units/' and commit it" >&2
    exit 1
fi

rm -rf "$stage"
mkdir -p "$stage/man" "$stage/completions"
"$bin" manpages "$stage/man"
cp packaging/man/jts-hot-layout.toml.5 "$stage/man/"
# -n: no name or timestamp inside, so the same input gives the same package.
gzip -9n "$stage"/man/*
"$bin" completions bash >"$stage/completions/jts-hot.bash"
"$bin" completions zsh >"$stage/completions/_jts-hot"
"$bin" completions fish >"$stage/completions/jts-hot.fish"

rm -rf target/debian target/generate-rpm
cargo deb --no-build --locked >&2
cargo generate-rpm >&2

deb=$(ls target/debian/jts-hot_*.deb)
rpm=$(ls target/generate-rpm/jts-hot-*.rpm)
echo "$PWD/$deb"
echo "$PWD/$rpm"
