# shellcheck shell=sh
# jts-hot-selinux's tier relabelling, in one place for its %posttrans and
# %postun. rpm has no include between scriptlets (each is a string in the
# package's header) and at %postun the package's own files are gone, so
# nothing it installs can be sourced: packaging/build.sh puts this file before
# each of the two (target/packaging/rpm/selinux-posttrans.sh and
# selinux-postun.sh, the files Cargo.toml ships).

# Relabels the tier's directories, each itself only (restorecon without -R,
# as `jts-hot apply` does): the 'd' lines of the layout in force's
# tmpfiles.conf that name an owner (the parents of the base are not the
# tier's). Where SELinux is enabled. Fedora's %selinux_relabel_post runs
# fixfiles over every path whose context changed; this module changes the
# tier's alone.
relabel_tier() {
    command -v selinuxenabled >/dev/null 2>&1 && selinuxenabled || return 0
    command -v restorecon >/dev/null 2>&1 || return 0
    list=/usr/lib/jts-hot/tmpfiles.conf
    if [ -f /etc/jts-hot/tmpfiles.conf ] && [ ! -L /etc/jts-hot/tmpfiles.conf ] \
        && grep -q '^# jts-hot-layout-digest: ' /etc/jts-hot/tmpfiles.conf; then
        list=/etc/jts-hot/tmpfiles.conf
    fi
    awk '$1 == "d" && $2 ~ /^\// && $4 != "-" { print $2 }' "$list" 2>/dev/null \
        | while IFS= read -r dir; do
            if [ -d "$dir" ] && [ ! -L "$dir" ]; then restorecon -v -- "$dir" || :; fi
        done
}
