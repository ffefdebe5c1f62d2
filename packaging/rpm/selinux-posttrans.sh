# shellcheck shell=sh
# jts-hot-selinux %posttrans, after the whole transaction (jts-hot's files
# are in place, its %post has made the tier's directories), where SELinux is
# enabled: first what no macro does, the layout's SELinux equivalences
# (semanage fcontext -a -e); then as Fedora's %selinux_relabel_post -s TYPE,
# for the tier's directories only, each relabelled itself, never recursively.

# SELinux equivalences (the layout's selinux_equal: `semanage fcontext -a -e`,
# which no policy module can say), from the layout in force: the list `jts-hot
# apply` wrote into /etc, else the package's. Each one added is recorded in
# /var/lib/jts-hot/selinux-equal, so that removal deletes only those; one the
# operator set is left alone. (The same in debian/jts-hot.postinst and rpm/selinux-posttrans.sh.)
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

# relabel_tier: packaging/rpm/selinux-relabel.sh, which packaging/build.sh
# puts before this file in the package.
if command -v selinuxenabled >/dev/null 2>&1 && selinuxenabled; then
    add_selinux_equivalences || :
fi
relabel_tier
