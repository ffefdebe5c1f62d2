# shellcheck shell=sh
# jts-hot-selinux %postun ($1: 0 on removal, 1 on upgrade), as Fedora's
# `if [ $1 -eq 0 ]; then %selinux_modules_uninstall -s TYPE jts-hot; fi`
# followed by %selinux_relabel_post for the tier's directories alone: on
# removal the module goes, and the directories are relabelled to what the
# policy without it says. Before the module, the SELinux equivalences the
# package scripts or `jts-hot apply` added (their record), where SELinux is
# enabled. Nothing under the tier but its directories' own labels changes.

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

# The SELinux equivalences the package scripts or `jts-hot apply` added (their
# record), each only while it still says what was recorded: one the operator
# set or changed is theirs. (The same in debian/jts-hot.postrm and rpm/selinux-postun.sh.)
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

# The SELinux module, at the priorities the package (200, or
# JTS_HOT_SELINUX_PRIORITY) and `jts-hot apply` (300) install it at, from the
# store of the policy /etc/selinux/config names (%selinux_modules_uninstall:
# `semodule -n -s TYPE`, then load_policy where SELinux is enabled); an
# operator's own modules are theirs.
remove_selinux_module() {
    command -v semodule >/dev/null 2>&1 || return 0
    type=$(policy_type)
    [ -d "/etc/selinux/$type" ] || return 0
    args=$(semodule -s "$type" --list-modules=full 2>/dev/null | awk -v p="${JTS_HOT_SELINUX_PRIORITY:-200}" \
        '$2 == "jts-hot" && ($1 == 200 || $1 == 300 || $1 == p) { printf " -X %d -r jts-hot", $1 }')
    if [ -n "$args" ]; then
        # shellcheck disable=SC2086 # options built above, one word each
        if semodule -n -s "$type" $args; then
            if command -v selinuxenabled >/dev/null 2>&1 && selinuxenabled; then
                load_policy || echo "jts-hot: load_policy failed after removing the jts-hot module" >&2
            fi
        else
            echo "jts-hot: semodule could not remove the SELinux module" >&2
        fi
    fi
}

# relabel_tier: packaging/rpm/selinux-relabel.sh, which packaging/build.sh
# puts before this file in the package.
if [ "$1" -eq 0 ]; then
    if command -v selinuxenabled >/dev/null 2>&1 && selinuxenabled; then
        remove_selinux_equivalences || :
    fi
    remove_selinux_module
    relabel_tier
fi
