# shellcheck shell=sh
# jts-hot %postun ($1: 0 on removal, 1 on upgrade): as %systemd_postun, plus
# the unit files `jts-hot apply` wrote into /etc. Nothing under the tier and
# none of the service users is ever removed: the data and its owners are the
# operator's. rpm has no purge, so an erase also removes everything else
# jts-hot wrote outside the tier (remove_written_files); a changed
# /etc/jts/hot-layout.toml stays as .rpmsave, as %config(noreplace) does.

# Files jts-hot wrote carry this line; nothing else is touched.
MARKER='# jts-hot-layout-digest: '
ETC=/etc

ours() {
    [ -f "$1" ] && [ ! -L "$1" ] && grep -q "^$MARKER" "$1"
}

# Units and drop-ins `jts-hot apply` put in /etc: once the package is gone a
# drop-in would make a database require a validation unit that no longer
# exists, so they go on remove. (The same in debian/postrm and rpm/postun.sh.)
remove_applied_units() {
    for f in "$ETC"/systemd/system/jts-hot-setup.service \
             "$ETC"/systemd/system/jts-hot-validate.service \
             "$ETC"/systemd/system/jts-hot-quota.service \
             "$ETC"/systemd/system/jts-hot-monitor.service \
             "$ETC"/systemd/system/jts-hot-monitor.timer; do
        if ours "$f"; then rm -f "$f"; fi
    done
    for f in "$ETC"/systemd/system/*.d/jts-hot.conf; do
        if ours "$f"; then
            rm -f "$f"
            rmdir "${f%/*}" 2>/dev/null || true
        fi
    done
}

# Everything else jts-hot wrote outside the tier, on purge: the files `jts-hot
# apply` put in /etc (each carrying the marker), the temporaries a killed run
# left beside them (`.jts-hot.*.tmp`, jts-hot's own names), the state
# directory's files (the monitor's history, the probe's baseline, the SELinux
# record once its equivalences are gone), and the monitor's jts_hot.prom in
# the textfile directory (the default one and the one the applied layout
# named). Nothing under the tier, no user, no file without the marker in
# /etc. (The same in debian/postrm and rpm/postun.sh.)
remove_written_files() {
    # The applied textfile directory, read before its tmpfiles file goes.
    textfile=$(awk '$1 == "d" && $2 ~ /^\// { d = $2 } END { print d }' \
        "$ETC/tmpfiles.d/jts-hot.conf" 2>/dev/null || true)
    for f in "$ETC/tmpfiles.d/jts-hot.conf" "$ETC/sysusers.d/jts-hot.conf" \
             "$ETC/jts-hot/tmpfiles.conf" "$ETC/jts-hot/file_contexts.subs"; do
        if ours "$f"; then rm -f "$f"; fi
    done
    for d in "$ETC/systemd/system" "$ETC"/systemd/system/*.d "$ETC/tmpfiles.d" \
             "$ETC/sysusers.d" "$ETC/jts-hot"; do
        for f in "$d"/.jts-hot.*.tmp; do
            if [ -f "$f" ] && [ ! -L "$f" ]; then rm -f "$f"; fi
        done
    done
    rmdir "$ETC/jts-hot" 2>/dev/null || true
    state="${DPKG_ROOT:-}/var/lib/jts-hot"
    if [ -f "$state/selinux-equal" ] && [ ! -L "$state/selinux-equal" ] \
        && grep -q '^/' "$state/selinux-equal"; then
        echo "jts-hot: the SELinux equivalences listed in $state/selinux-equal could not all be deleted; the list is removed with the package" >&2
    fi
    for f in "$state"/monitor-* "$state"/monitor.lock "$state"/probe-* "$state"/applied-layout.toml "$state"/selinux-equal "$state"/.jts-hot.*; do
        if [ -f "$f" ] && [ ! -L "$f" ]; then rm -f "$f"; fi
    done
    rmdir "$state" 2>/dev/null || true
    # systemd's record of the monitor timer's last run (Persistent=true).
    rm -f "${DPKG_ROOT:-}/var/lib/systemd/timers/stamp-jts-hot-monitor.timer"
    for d in "${DPKG_ROOT:-}/var/lib/prometheus/node-exporter" ${textfile:+"${DPKG_ROOT:-}$textfile"}; do
        f="$d/jts_hot.prom"
        if [ -f "$f" ] && [ ! -L "$f" ] && grep -q '^# HELP jts_hot_' "$f"; then rm -f "$f"; fi
        for t in "$d"/.jts-hot.*.tmp; do
            if [ -f "$t" ] && [ ! -L "$t" ]; then rm -f "$t"; fi
        done
    done
}

# The SELinux equivalences the package scripts or `jts-hot apply` added (their
# record), each only while it still says what was recorded: one the operator
# set or changed is theirs. (The same in debian/postrm and rpm/postun.sh.)
remove_selinux_equivalences() {
    record="${DPKG_ROOT:-}/var/lib/jts-hot/selinux-equal"
    [ -f "$record" ] && [ ! -L "$record" ] || return 0
    if ! command -v semanage >/dev/null 2>&1; then
        echo "jts-hot: semanage is missing: the SELinux equivalences listed in $record stay" >&2
        return 0
    fi
    current=$(semanage fcontext --extract 2>/dev/null \
        | awk '$1 == "fcontext" && $2 == "-a" && $3 == "-e" { print $5, $4 }')
    failed=0
    while read -r dir source; do
        case "$dir" in /*) ;; *) continue ;; esac
        have=$(printf '%s\n' "$current" | awk -v d="$dir" '$1 == d { print $2 }')
        if [ -n "$source" ] && [ "$have" = "$source" ]; then
            semanage fcontext -d -e "$source" "$dir" || failed=1
        fi
    done <"$record"
    if [ "$failed" = 0 ]; then
        rm -f "$record"
    else
        echo "jts-hot: semanage could not delete every SELinux equivalence of $record" >&2
    fi
}

# The SELinux module, where SELinux is enabled, at the priorities the package
# (200, or JTS_HOT_SELINUX_PRIORITY) and `jts-hot apply` (300) install it at;
# an operator's own modules are theirs. Labels on disk stay: nothing under the
# tier is touched. (The same in debian/postrm and rpm/postun.sh.)
remove_selinux_module() {
    command -v selinuxenabled >/dev/null 2>&1 && selinuxenabled || return 0
    remove_selinux_equivalences || true
    command -v semodule >/dev/null 2>&1 || return 0
    args=$(semodule --list-modules=full 2>/dev/null | awk -v p="${JTS_HOT_SELINUX_PRIORITY:-200}" \
        '$2 == "jts-hot" && ($1 == 200 || $1 == 300 || $1 == p) { printf " -X %d -r jts-hot", $1 }')
    if [ -n "$args" ]; then
        # shellcheck disable=SC2086 # options built above, one word each
        semodule $args || echo "jts-hot: semodule could not remove the SELinux module" >&2
    fi
}

if [ "$1" -eq 0 ]; then
    remove_applied_units
    remove_selinux_module
    # rpm has no purge: an erase removes what jts-hot wrote, or a later
    # install would prefer a stale /etc/jts-hot/file_contexts.subs.
    remove_written_files
fi
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    if [ "$1" -eq 0 ]; then
        # After the reload no database requires it: stopping it stops nothing else.
        systemctl stop jts-hot-validate.service >/dev/null 2>&1 || :
    fi
fi
