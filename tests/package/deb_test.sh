#!/bin/bash
# deb_test.sh DEB: what the Debian package holds and does. The files of
# `meson install` (man pages compressed, units in the distribution's unit
# folder), no conffile (the daemon runs without /etc/wg-rtsync.yaml), the
# runtime libraries in Depends, and maintainer scripts that never enable the
# service (so never start it on install) yet restart it on upgrade where the
# administrator enabled it.
set -u
deb=$1
failures=0
fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

files=$(dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's/^\.//' | grep -v '/$')
for f in /usr/sbin/wg-rtsync /usr/share/man/man8/wg-rtsync.8.gz \
	/usr/share/man/man5/wg-rtsync.yaml.5.gz \
	/usr/share/doc/wg-rtsync/examples/wg-rtsync.yaml /usr/share/doc/wg-rtsync/copyright \
	lib/systemd/system/wg-rtsync.service lib/systemd/system/wg-rtsync-metrics.service \
	lib/systemd/system/wg-rtsync-metrics.timer; do
	case $f in
	/*) grep -qx -- "$f" <<<"$files" || fail "$f is not in the package" ;;
	# /lib (Debian 12) or /usr/lib (13): where pkg-config systemd says.
	*) grep -qxE -- "(/usr)?/$f" <<<"$files" || fail "/$f is not in the package" ;;
	esac
done
grep -q '^/etc/' <<<"$files" && fail "the package ships files in /etc: $(grep '^/etc/' <<<"$files")"

dpkg-deb -e "$deb" "$tmp/control"
[ -e "$tmp/control/conffiles" ] && fail "conffiles: $(cat "$tmp/control/conffiles")"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libsystemd0 libmnl0 libsodium23 libyaml-0-2 libcap-ng0 libc6; do
	grep -q "\b$lib\b" <<<"$depends" || fail "Depends lacks $lib: $depends"
done
# The daemon reads its file with libyaml; libcyaml is the tests' only.
grep -q '\blibcyaml' <<<"$depends" && fail "Depends has libcyaml, which only the tests use: $depends"
postinst=$(cat "$tmp/control/postinst")
grep -q 'deb-systemd-helper update-state' <<<"$postinst" ||
	fail "postinst does not record the units' state"
# dh_installsystemd --no-enable: `enable` only re-creates the links of a
# unit the administrator enabled, guarded by `debian-installed` (false on a
# first install); without it, every new installation would enable the unit.
enables=$(grep -c 'deb-systemd-helper enable' <<<"$postinst")
guards=$(grep -c 'deb-systemd-helper debian-installed' <<<"$postinst")
[ "$enables" = "$guards" ] ||
	fail "postinst enables a unit on a first install ($enables enable, $guards guards)"
grep -q 'deb-systemd-invoke' <<<"$postinst" ||
	fail "postinst does not restart the service on upgrade"

[ "$failures" -eq 0 ] && echo "package: $(wc -l <<<"$files") files, Depends: $depends"
[ "$failures" -eq 0 ]
