# shellcheck shell=sh
# jts-hot %post ($1: 1 on install, 2 on upgrade). What the macros of
# systemd-rpm-macros (macros.systemd) write, in their order, each line
# below naming its macro:
#   %sysusers_create_compat / %sysusers_create: the users, created when
#     missing, never changed; a failure never fails the transaction;
#   %tmpfiles_create jts-hot.conf;
#   %systemd_post UNITS: on install only (an upgrade keeps the operator's
#     choice), `systemctl --no-reload preset UNITS`.
# Two things go further than the macros, for the package's one purpose (to
# set the tier up): on install the units are enabled (`enable`, not
# `preset`: the distributions' presets disable a unit they do not know) and,
# where systemd runs, started; and the tier's directories are set up
# (`jts-hot setup`). An upgrade also renders an applied layout's units again.
# The SELinux policy is the jts-hot-selinux package's (selinux-post.sh).
# Safe in a chroot or container without a running systemd.

# %sysusers_create_compat: users first, the tier's directories belong to
# them. systemd-sysusers (the package requires systemd) rather than the
# macro's useradd lines, with basenames, so that /etc/sysusers.d/jts-hot.conf
# (written by `jts-hot apply`) wins, as at boot; the databases' own accounts
# first, as their packages make them (jts-hot-accounts.conf,
# docs/databases.md).
systemd-sysusers jts-hot-accounts.conf jts-hot.conf >/dev/null 2>&1 || :
# An upgrade brings this version's units into force: where `jts-hot apply`
# put units and drop-ins into /etc (shadowing the packaged ones), this
# version renders them again from the layout in force (apply's copy);
# nothing where apply never ran. The applied layout and the operator's own
# drop-ins are kept, a saved edit stays pending, no database is restarted.
jts-hot apply --reapply >&2 \
    || echo "jts-hot: could not render the units of the applied layout again: run jts-hot apply --reapply" >&2
# %tmpfiles_create: tmpfiles.d's file holds only what lies outside the tier.
systemd-tmpfiles --create jts-hot.conf >/dev/null 2>&1 || :
# The tier's directories, only on its mounted filesystem: while a mount
# declared for it is not in place this creates nothing and says which disk to
# check (jts-hot-setup.service does it at the next boot).
jts-hot setup >&2 || :

# %systemd_post: first install only, an upgrade keeps the operator's choice.
# Works offline.
if [ "$1" -eq 1 ]; then
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
