# shellcheck shell=sh
# jts-hot %preun ($1: 0 on removal, 1 on upgrade): as %systemd_preun, disable
# our units and stop the monitor. The validation unit is stopped in %postun,
# once no database requires it any more: today's drop-ins only
# Want= it, but one an older `jts-hot apply` left in /etc may Require= it.
if [ "$1" -eq 0 ]; then
    systemctl --no-reload disable jts-hot-setup.service jts-hot-validate.service jts-hot-monitor.timer >/dev/null 2>&1 || :
    if [ -d /run/systemd/system ]; then
        systemctl stop jts-hot-monitor.timer jts-hot-monitor.service >/dev/null 2>&1 || :
    fi
fi
