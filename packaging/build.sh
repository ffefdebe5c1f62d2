#!/usr/bin/env bash
# Builds the .deb and the .rpm of jts-hot: the .deb the Debian way, with
# `dpkg-buildpackage -b` from debian/ (debhelper compat 13, dh; needs
# debhelper, dh-sequence-bash-completion and dpkg-dev), which also builds the
# release binary and stages the man pages and completions under
# target/packaging/; then the .rpms of jts-hot and jts-hot-selinux with
# cargo-generate-rpm from Cargo.toml's metadata and packaging/rpm/
# (cargo install --locked cargo-generate-rpm).
#
# Usage: packaging/build.sh
# The last two lines of its output are the paths of the .deb and the .rpm
# (other scripts rely on that; keep it); the line before them the path of the
# .rpm of jts-hot-selinux. The .changes lintian reads is beside the .deb.
set -euo pipefail
cd "$(dirname "$0")/.."
# debian/rules and Cargo.toml's metadata name target/ in this tree: build
# there even when the caller's CARGO_TARGET_DIR points elsewhere.
unset CARGO_TARGET_DIR

out=target/debian
version=$(dpkg-parsechangelog -SVersion)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
rm -rf "$out" target/generate-rpm
mkdir -p "$out"
# dpkg-buildpackage writes into the parent directory by default; everything
# goes to target/debian instead (debian/rules: dh_builddeb --destdir), and
# debian/ is left as committed (--post-clean).
dpkg-buildpackage -b --no-sign --post-clean \
    --buildinfo-option=-u"$out" --buildinfo-file="$out/jts-hot_${version}_${arch}.buildinfo" \
    --changes-option=-u"$out" --changes-file="$out/jts-hot_${version}_${arch}.changes" >&2

# The .rpm's man pages, compressed as rpm ships them (-n: no name or time
# inside, so the same input gives the same package).
mkdir -p target/packaging/rpm/man
cp target/packaging/man/*.1 packaging/man/jts-hot-layout.toml.5 target/packaging/rpm/man/
gzip -9nf target/packaging/rpm/man/*
cargo generate-rpm >&2
# jts-hot-selinux's %posttrans and %postun both relabel the tier: the function
# has one home, packaging/rpm/selinux-relabel.sh, put before each scriptlet
# here (rpm has no include; Cargo.toml ships these assembled files).
for scriptlet in posttrans postun; do
    cat packaging/rpm/selinux-relabel.sh "packaging/rpm/selinux-$scriptlet.sh" \
        >"target/packaging/rpm/selinux-$scriptlet.sh"
done
# The SELinux subpackage (Cargo.toml's variant `selinux`), tied to this
# version and release of jts-hot as Fedora ties a subpackage to its package.
crate_version=$(sed -n '0,/^version = /s/^version = "\(.*\)"$/\1/p' Cargo.toml)
release=$(sed -n 's/^release = "\(.*\)"$/\1/p' Cargo.toml)
cargo generate-rpm --variant selinux --arch noarch --set-metadata "requires = { \
    jts-hot = \"= $crate_version-$release\", \
    selinux-policy-base = \"*\", policycoreutils = \"*\", libselinux-utils = \"*\" }" >&2

deb=$(ls "$out"/jts-hot_*.deb)
rpm=$(ls target/generate-rpm/jts-hot-[0-9]*.rpm)
selinux_rpm=$(ls target/generate-rpm/jts-hot-selinux-*.rpm)
# The subpackage first: the last two lines stay the .deb and the .rpm.
echo "$PWD/$selinux_rpm"
echo "$PWD/$deb"
echo "$PWD/$rpm"
