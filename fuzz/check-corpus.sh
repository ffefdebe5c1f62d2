#!/usr/bin/env bash
# Judges every layout of fuzz/corpus/layout with the real systemd tools:
# each one jts-hot accepts is generated, its users created by
# systemd-sysusers --root (exit status 0), its directories by systemd-tmpfiles --create --root
# (the tier's file and the boot's)
# (stderr must be empty, every directory must exist), and its units checked
# by systemd-analyze verify --root beside this machine's units (stderr must be
# empty). Refused layouts must be refused with a FILE:LINE:COLUMN message.
# Usage: fuzz/check-corpus.sh [JTS_HOT_BINARY [CORPUS_DIR]]   (run as root)
set -euo pipefail
bin=$(realpath "${1:-$(dirname "$0")/../target/debug/jts-hot}")
corpus=$(realpath "${2:-$(dirname "$0")/corpus/layout}")
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
accepted=0 refused=0 failed=0
for f in "$corpus"/*; do
    if ! err=$("$bin" config check "$f" 2>&1 >/dev/null | tr -d '\0'; exit "${PIPESTATUS[0]}"); then
        if ! grep -qF "$f:" <<<"$err" || ! grep -q ":[0-9]*:[0-9]*: " <<<"$err"; then
            echo "FAIL $f: refused without FILE:LINE:COLUMN: $err"; failed=$((failed + 1))
        fi
        refused=$((refused + 1)); continue
    fi
    accepted=$((accepted + 1))
    gen="$work/gen" root="$work/root"
    rm -rf "$gen" "$root"; mkdir -p "$root/etc" "$root/usr/bin" "$root/usr/lib/systemd"
    "$bin" --config "$f" generate --out "$gen" >/dev/null
    # sysusers reports each user it creates on stderr: judged by its exit status.
    sysusers_err=$(systemd-sysusers --root="$root" "$gen/usr/lib/sysusers.d/jts-hot.conf" >/dev/null 2>&1 || echo "sysusers exit $?")
    # Both tmpfiles files: the boot's (scratch ages, the textfile directory)
    # and the tier's own, which jts-hot-setup.service applies once mounted.
    tmpfiles_err=$(systemd-tmpfiles --create --root="$root" "$gen/usr/lib/jts-hot/tmpfiles.conf" \
        "$gen/usr/lib/tmpfiles.d/jts-hot.conf" 2>&1 >/dev/null || echo "exit $?")
    if [[ -n "$sysusers_err$tmpfiles_err" ]]; then
        echo "FAIL $f: sysusers/tmpfiles said: $sysusers_err$tmpfiles_err"; failed=$((failed + 1)); continue
    fi
    # Every d line's directory exists in the root (paths as tmpfiles reads them).
    while IFS= read -r path; do
        if [[ ! -d "$root$path" ]]; then
            echo "FAIL $f: $path was not created"; failed=$((failed + 1))
        fi
    done < <(sed -n 's/^d "\([^"]*\)".*/\1/p; s/^d \([^ "][^ ]*\) .*/\1/p' \
             "$gen/usr/lib/jts-hot/tmpfiles.conf" "$gen/usr/lib/tmpfiles.d/jts-hot.conf" | sed 's/%%/%/g')
    cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
    cp "$bin" "$root/usr/bin/jts-hot"
    cp -a "$gen/usr/lib/systemd/system/." "$root/usr/lib/systemd/system/"
    units=("$root/usr/lib/systemd/system/jts-hot-validate.service"
           "$root/usr/lib/systemd/system/jts-hot-monitor.service"
           "$root/usr/lib/systemd/system/jts-hot-monitor.timer")
    for d in "$gen"/usr/lib/systemd/system/*.d; do
        [[ -e "$d" ]] || continue
        unit=$(basename "$d" .d)
        # A stand-in for the gated unit (a template's instance needs the template).
        stand="$unit"; [[ "$unit" == *@*.service ]] && stand="${unit%%@*}@.service"
        printf '[Unit]\nDescription=stand-in\n[Service]\nExecStart=/usr/bin/jts-hot --version\n' \
            > "$root/usr/lib/systemd/system/$stand"
        units+=("$unit")
    done
    verify_err=$(systemd-analyze verify --man=no --root="$root" "${units[@]}" 2>&1 >/dev/null || echo "exit $?")
    if [[ -n "$verify_err" ]]; then
        echo "FAIL $f: systemd-analyze verify said: $verify_err"; failed=$((failed + 1))
    fi
done
echo "corpus: $accepted accepted (sysusers, tmpfiles --create --root and systemd-analyze verify silent), $refused refused, $failed failures"
[[ $failed -eq 0 ]]
