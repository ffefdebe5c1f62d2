# shellcheck shell=sh
# jts-hot %preun ($1: 0 on removal, 1 on upgrade): %systemd_preun UNITS, as
# macros.systemd writes it: on removal, `systemctl --no-reload disable --now`
# the units the package enabled (a chroot without systemd ignores --now), and
# the monitor's service, which its timer starts, stopped too. The packaged
# gates only Want= the validation unit: stopping it stops no database.
if [ "$1" -eq 0 ]; then
    systemctl --no-reload disable --now jts-hot-setup.service jts-hot-validate.service jts-hot-monitor.timer >/dev/null 2>&1 || :
    systemctl stop jts-hot-monitor.service >/dev/null 2>&1 || :
fi
