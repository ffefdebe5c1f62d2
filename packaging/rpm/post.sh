# shellcheck shell=sh
# jts-hot %post ($1: 1 on install, 2 on upgrade): what %sysusers_create,
# %tmpfiles_create and %systemd_post do, except that a first install also
# enables and starts the units (the package exists to set the tier up).
# Safe in a chroot or container without a running systemd.

# SELinux equivalences (the layout's selinux_equal: `semanage fcontext -a -e`,
# which no policy module can say), from the layout in force: the list `jts-hot
# apply` wrote into /etc, else the package's. Each one added is recorded in
# /var/lib/jts-hot/selinux-equal, so that removal deletes only those; one the
# operator set is left alone. (The same in debian/postinst and rpm/post.sh.)
add_selinux_equivalences() {
    list=/usr/lib/jts-hot/file_contexts.subs
    if [ -f /etc/jts-hot/file_contexts.subs ] && [ ! -L /etc/jts-hot/file_contexts.subs ] \
        && grep -q '^# jts-hot-layout-digest: ' /etc/jts-hot/file_contexts.subs; then
        list=/etc/jts-hot/file_contexts.subs
    fi
    grep -q '^/' "$list" 2>/dev/null || return 0
    if ! command -v semanage >/dev/null 2>&1; then
        echo "jts-hot: WARNING: semanage is missing (install policycoreutils-python-utils, then run jts-hot apply): the SELinux equivalences of $list are NOT in place" >&2
        return 0
    fi
    record=/var/lib/jts-hot/selinux-equal
    mkdir -p /var/lib/jts-hot || return 0
    [ -f "$record" ] || echo "# SELinux equivalences jts-hot added (semanage fcontext -a -e SOURCE DIR), as DIR SOURCE" >"$record"
    current=$(semanage fcontext --extract 2>/dev/null \
        | awk '$1 == "fcontext" && $2 == "-a" && $3 == "-e" { print $5, $4 }')
    grep '^/' "$list" | while read -r dir source; do
        have=$(printf '%s\n' "$current" | awk -v d="$dir" '$1 == d { print $2 }')
        ours=$(awk -v d="$dir" '$1 == d { print $2 }' "$record")
        if [ "$have" = "$source" ]; then
            continue
        elif [ -n "$have" ] && [ "$have" != "$ours" ]; then
            echo "jts-hot: $dir is already equivalent to $have (the operator's): left alone, although the layout asks for $source" >&2
            continue
        fi
        # Absent, or ours with another source: (delete and) add, then record.
        if [ -n "$have" ]; then
            semanage fcontext -d -e "$have" "$dir" || continue
        fi
        awk -v d="$dir" '$1 != d' "$record" >"$record.new" && mv "$record.new" "$record"
        if semanage fcontext -a -e "$source" "$dir"; then
            echo "$dir $source" >>"$record"
        else
            echo "jts-hot: semanage could not make $dir equivalent to $source" >&2
        fi
    done
}

# Users first: the tier's directories belong to them. Basenames, so that
# /etc/sysusers.d/jts-hot.conf (written by `jts-hot apply`) wins, as at boot;
# the databases' own accounts first, as their packages make them
# (jts-hot-accounts.conf, docs/databases.md).
systemd-sysusers jts-hot-accounts.conf jts-hot.conf || :
# SELinux, only where it is enabled: the tier's file contexts go into the
# policy before systemd-tmpfiles runs, so the directories it creates are
# born labelled and the ones that exist are relabelled (tmpfiles resets
# the label of each 'd' path itself, never of what is inside). Priority
# 200: `jts-hot apply` installs the layout's own at 300, an operator's
# module (400) wins over both. JTS_HOT_SELINUX_PRIORITY overrides it.
if command -v selinuxenabled >/dev/null 2>&1 && selinuxenabled \
    && command -v semodule >/dev/null 2>&1; then
    semodule -X "${JTS_HOT_SELINUX_PRIORITY:-200}" -i /usr/share/selinux/packages/jts-hot.cil \
        || echo "jts-hot: semodule could not install the SELinux module (see jts-hot-layout.toml(5), selinux_type)" >&2
fi
if command -v selinuxenabled >/dev/null 2>&1 && selinuxenabled; then
    add_selinux_equivalences || :
fi
# An upgrade brings this version's units into force: where `jts-hot apply`
# put units and drop-ins into /etc (shadowing the packaged ones), this
# version renders them again from the layout in force (apply's copy);
# nothing where apply never ran. The applied layout and the operator's own
# drop-ins are kept, a saved edit stays pending, no database is restarted.
jts-hot apply --reapply >&2 \
    || echo "jts-hot: could not render the units of the applied layout again: run jts-hot apply --reapply" >&2
# tmpfiles.d's file holds only what lies outside the tier.
systemd-tmpfiles --create jts-hot.conf || :
# The tier's directories, only on its mounted filesystem: while a mount
# declared for it is not in place this creates nothing and says which disk to
# check (jts-hot-setup.service does it at the next boot).
jts-hot setup >&2 || :

if [ "$1" -eq 1 ]; then
    # First install only: an upgrade keeps the operator's choice. Works offline.
    systemctl --no-reload enable jts-hot-setup.service jts-hot-validate.service jts-hot-monitor.timer >/dev/null 2>&1 || :
fi
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    if [ "$1" -eq 1 ]; then
        # start, not restart: a running tier needs no new check (each database
        # re-checks its part at its own next start: its ExecCondition= gate).
        systemctl start jts-hot-setup.service jts-hot-validate.service jts-hot-monitor.timer >/dev/null 2>&1 || :
    fi
fi
