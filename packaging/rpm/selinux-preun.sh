# shellcheck shell=sh
# jts-hot-selinux %preun: nothing (Fedora's SELinux subpackages have none);
# removal is %postun's (selinux-postun.sh). A scriptlet of its own, so that
# jts-hot's %preun, which stops and disables the units, is not this package's.
:
