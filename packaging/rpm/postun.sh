# shellcheck shell=sh
# jts-hot %postun ($1: 0 on removal, 1 on upgrade). As macros.systemd's
# %systemd_postun (setup and validation units: an upgrade never restarts
# them, a restart of the validation unit would restart a database that
# Requires= it) and %systemd_postun_with_restart (the monitor timer): a
# daemon-reload, then `systemctl try-restart jts-hot-monitor.timer` on
# upgrade. On removal, before that reload, the unit files `jts-hot apply`
# wrote into /etc go (the applied-layout record's units). Nothing under the
# tier and none of the service users is ever removed: the data and its owners
# are the operator's. rpm has no purge, so an erase also removes everything
# else jts-hot wrote outside the tier (remove_written_files); a changed
# /etc/jts/hot-layout.toml stays as .rpmsave, as %config(noreplace) does.
# The SELinux module and equivalences are jts-hot-selinux's
# (selinux-postun.sh), erased before this package, which it requires.

# Files jts-hot wrote carry this line; nothing else is touched.
MARKER='# jts-hot-layout-digest: '
ETC=/etc

ours() {
    [ -f "$1" ] && [ ! -L "$1" ] && grep -q "^$MARKER" "$1"
}

# Units and drop-ins `jts-hot apply` put in /etc: once the package is gone a
# drop-in would make a database require a validation unit that no longer
# exists, so they go on remove. (The same in debian/jts-hot.postrm and rpm/postun.sh.)
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
# /etc. (The same in debian/jts-hot.postrm and rpm/postun.sh.)
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
    # The state directory is jts-hot's alone: every file in it, whatever its
    # name (a link itself, never what it points at), so that no record a
    # version added outlives the package.
    for f in "$state"/* "$state"/.[!.]*; do
        if [ -f "$f" ] || [ -L "$f" ]; then rm -f "$f"; fi
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

if [ "$1" -eq 0 ]; then
    remove_applied_units
    # rpm has no purge: an erase removes what jts-hot wrote, or a later
    # install would prefer a stale /etc/jts-hot/file_contexts.subs.
    remove_written_files
fi
# %systemd_postun (older systemd-rpm-macros: on removal too, for the units
# removed above) and %systemd_postun_with_restart jts-hot-monitor.timer.
systemctl daemon-reload >/dev/null 2>&1 || :
if [ "$1" -ge 1 ]; then
    systemctl try-restart jts-hot-monitor.timer >/dev/null 2>&1 || :
fi
