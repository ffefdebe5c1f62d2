# shellcheck shell=sh
# jts-hot %post ($1: 1 on install, 2 on upgrade): what %sysusers_create,
# %tmpfiles_create and %systemd_post do, except that a first install also
# enables and starts the units (the package exists to set the tier up).
# Safe in a chroot or container without a running systemd.

# Users first: the tier's directories belong to them. A basename, so that
# /etc/sysusers.d/jts-hot.conf (written by `jts-hot apply`) wins, as at boot.
systemd-sysusers jts-hot.conf || :
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
        # re-checks its part at its own next start: its ExecStartPre= gate).
        systemctl start jts-hot-setup.service jts-hot-validate.service jts-hot-monitor.timer >/dev/null 2>&1 || :
    fi
fi
