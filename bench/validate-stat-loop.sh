#!/usr/bin/env bash
# The shell approach `jts-hot validate` replaces: one `stat` per planned
# directory, compared with the tmpfiles line that made it. Owners are
# resolved once from ROOT/etc/passwd and ROOT/etc/group, as `validate --root` does.
# Usage: validate-stat-loop.sh ROOT   (ROOT/usr/lib/jts-hot/tmpfiles.conf lists the tier)
set -u
root=$1
base=/data/jts/hot
declare -A uid=([root]=0) gid=([root]=0)
while IFS=: read -r name _ id _; do uid[$name]=$id; done < "$root/etc/passwd"
while IFS=: read -r name _ id _; do gid[$name]=$id; done < "$root/etc/group"
bad=0
while read -r type path mode owner group _; do
    [[ $type == d && $path == "$base"* ]] || continue
    want="directory ${uid[$owner]:-?} ${gid[$group]:-?} $(printf '%o' $((8#$mode)))"
    got=$(stat -c '%F %u %g %a' "$root$path" 2>/dev/null) || got=missing
    if [[ $got != "$want" ]]; then
        echo "$root$path: $got; expected $want"
        bad=1
    fi
done < "$root/usr/lib/jts-hot/tmpfiles.conf"
exit $bad
