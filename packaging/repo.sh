#!/usr/bin/env bash
# Builds (or adds to) signed package repositories for a fleet from jts-hot's
# packages: an apt repository made with reprepro (InRelease and Release.gpg
# signed with the given key) and a dnf/yum repository made with createrepo_c
# (every .rpm signed with rpmsign, repodata/repomd.xml with a detached
# signature). Run it again with a newer package and the same --out: the
# repositories then offer the newer version, and hosts upgrade with
# `apt upgrade` / `dnf upgrade`.
#
# Usage: packaging/repo.sh --key KEYID --out DIR [--codename NAME] PACKAGE...
#   --key KEYID     the signing key, in gpg's keyring ($GNUPGHOME), without a
#                   passphrase (or with gpg-agent holding it)
#   --out DIR       DIR/apt (the apt repository), DIR/rpm (the dnf one),
#                   DIR/jts-hot-archive-keyring.gpg (the public key, binary, for
#                   apt's Signed-By:), DIR/jts-hot-archive-keyring.asc (armored,
#                   for rpm --import and dnf's gpgkey=), DIR/jts-hot.sources and
#                   DIR/jts-hot.repo (examples with URL to replace)
#   --codename NAME the apt suite's codename (default: stable)
#   PACKAGE         .deb and .rpm files (packaging/build.sh's output)
# Needs reprepro, createrepo_c, rpmsign (Debian's rpm), gpg.
set -euo pipefail

usage() { sed -n '2,/^set -e/p' "$0" | sed -n 's/^# \{0,1\}//p' >&2; exit 2; }
key='' out='' codename=stable
while [ $# -gt 0 ]; do
    case $1 in
        --key) key=${2:?}; shift 2 ;;
        --out) out=${2:?}; shift 2 ;;
        --codename) codename=${2:?}; shift 2 ;;
        -h|--help) usage ;;
        --) shift; break ;;
        -*) echo "repo.sh: unknown option $1" >&2; usage ;;
        *) break ;;
    esac
done
if [ -z "$key" ] || [ -z "$out" ] || [ $# -eq 0 ]; then usage; fi
# The key must be there and able to sign: refuse before anything is written.
if ! gpg --batch --list-secret-keys "$key" >/dev/null 2>&1; then
    echo "repo.sh: no secret key $key in ${GNUPGHOME:-~/.gnupg}" >&2
    exit 1
fi
debs=() rpms=()
for p in "$@"; do
    case $p in
        *.deb) debs+=("$(realpath "$p")") ;;
        *.rpm) rpms+=("$(realpath "$p")") ;;
        *) echo "repo.sh: $p is neither a .deb nor an .rpm" >&2; exit 2 ;;
    esac
done
mkdir -p "$out"
out=$(realpath "$out")
gpg --batch --yes --export "$key" >"$out/jts-hot-archive-keyring.gpg"
gpg --batch --yes --armor --export "$key" >"$out/jts-hot-archive-keyring.asc"

if [ ${#debs[@]} -gt 0 ]; then
    apt=$out/apt
    mkdir -p "$apt/conf"
    archs=$( { cat "$apt/conf/architectures" 2>/dev/null || true
               for d in "${debs[@]}"; do dpkg-deb -f "$d" Architecture; done; } |
             grep -vx all | sort -u | tr '\n' ' ')
    echo "$archs" | tr ' ' '\n' | grep . >"$apt/conf/architectures"
    cat >"$apt/conf/distributions" <<CONF
Origin: jts-hot
Label: jts-hot
Codename: $codename
Architectures: ${archs:-amd64}
Components: main
Description: jts-hot, the hot storage tier's layout tool
SignWith: $key
CONF
    for d in "${debs[@]}"; do
        reprepro --basedir "$apt" includedeb "$codename" "$d" >&2
    done
    # Signed again (a new Release for each change), checked at once.
    reprepro --basedir "$apt" export "$codename" >&2
    gpgv --keyring "$out/jts-hot-archive-keyring.gpg" "$apt/dists/$codename/InRelease" 2>/dev/null ||
        { echo "repo.sh: $apt/dists/$codename/InRelease does not verify" >&2; exit 1; }
    cat >"$out/jts-hot.sources" <<SRC
Types: deb
URIs: URL-OF-$apt
Suites: $codename
Components: main
Signed-By: /usr/share/keyrings/jts-hot-archive-keyring.gpg
SRC
fi

if [ ${#rpms[@]} -gt 0 ]; then
    rpmdir=$out/rpm
    mkdir -p "$rpmdir/packages"
    for r in "${rpms[@]}"; do
        cp -f "$r" "$rpmdir/packages/"
        rpmsign --addsign --define "_gpg_name $key" --define "__gpg /usr/bin/gpg" \
            "$rpmdir/packages/$(basename "$r")" >&2
    done
    createrepo_c --update --quiet "$rpmdir" >&2
    gpg --batch --yes --local-user "$key" --detach-sign --armor "$rpmdir/repodata/repomd.xml"
    cat >"$out/jts-hot.repo" <<REPO
[jts-hot]
name=jts-hot
baseurl=URL-OF-$rpmdir
enabled=1
gpgcheck=1
repo_gpgcheck=1
gpgkey=URL-OF-$out/jts-hot-archive-keyring.asc
REPO
fi
echo "$out"
