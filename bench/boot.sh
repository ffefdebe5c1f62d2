#!/bin/sh
# Boot figures for the README: how long jts-hot-validate.service takes at boot,
# and the time to reach multi-user.target with and without the package, from
# real boots in systemd-nspawn (tests/boot.rs, boot_figures). Run as root.
set -eu
cd "$(dirname "$0")/.."
cargo test --test boot boot_figures -- --nocapture 2>&1 | grep FIGURE
