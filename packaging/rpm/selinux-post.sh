# shellcheck shell=sh
# jts-hot-selinux %post ($1: 1 on install, 2 on upgrade), as Fedora packages
# SELinux policy (selinux-policy's macros.selinux-policy):
#   %selinux_modules_install -s TYPE: the module goes into the store of the
#     policy /etc/selinux/config names, at priority 200 (`semodule -n -s TYPE
#     -X 200 -i`), also where SELinux is disabled, so that enabling it finds
#     the module; where it is enabled, load_policy. `jts-hot apply` installs
#     the applied layout's own module at 300, an operator's (400) wins over
#     both; JTS_HOT_SELINUX_PRIORITY sets another priority than 200.
# The layout's SELinux equivalences and the relabelling of the tier's
# directories are %posttrans's (selinux-posttrans.sh), once jts-hot's own
# files are in place and its %post has made the directories.

# The policy type /etc/selinux/config names (SELINUXTYPE; targeted on
# Fedora and RHEL, default on Debian), read as selinux-policy's macros read it.
policy_type() {
    (
        SELINUXTYPE=targeted
        # shellcheck disable=SC1091 # the host's own file, read at install
        [ -r /etc/selinux/config ] && . /etc/selinux/config
        echo "${SELINUXTYPE:-targeted}"
    )
}

type=$(policy_type)
if command -v semodule >/dev/null 2>&1 && [ -d "/etc/selinux/$type" ]; then
    if semodule -n -s "$type" -X "${JTS_HOT_SELINUX_PRIORITY:-200}" -i /usr/share/selinux/packages/jts-hot.cil; then
        if command -v selinuxenabled >/dev/null 2>&1 && selinuxenabled; then
            load_policy || echo "jts-hot: load_policy failed: the jts-hot module is installed, not loaded" >&2
        fi
    else
        echo "jts-hot: semodule could not install the SELinux module (see jts-hot-layout.toml(5), selinux_type)" >&2
    fi
fi
