#!/bin/bash
# install_test.sh: `meson install --destdir` of a build for /usr puts
# exactly these files in place (the binary in sbindir, the man pages, the
# units with the binary's path, the example configuration), and they work:
# the binary runs, the man pages render without a warning, the example is a
# valid configuration, the service's systemd-analyze security exposure is at
# most 2.5. Run by ci/package; needs meson, ninja, scdoc, man, systemd.
set -u
cd "$(dirname "$0")/../.."
build=build-install
dest=$PWD/$build/destdir
failures=0
fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

rm -rf "$build"
meson setup "$build" --prefix=/usr -Dsystemdsystemunitdir=/usr/lib/systemd/system \
	-Dtests=false -Dbench=false -Dman=enabled >"$build.log" 2>&1 &&
	ninja -C "$build" >>"$build.log" 2>&1 &&
	meson install -C "$build" --destdir "$dest" --no-rebuild >>"$build.log" 2>&1 || {
	tail -n 40 "$build.log"
	exit 1
}

want='/usr/lib/systemd/system/wg-rtsync-metrics.service
/usr/lib/systemd/system/wg-rtsync-metrics.timer
/usr/lib/systemd/system/wg-rtsync.service
/usr/sbin/wg-rtsync
/usr/share/doc/wg-rtsync/examples/wg-rtsync.yaml
/usr/share/man/man5/wg-rtsync.yaml.5
/usr/share/man/man8/wg-rtsync.8'
got=$(cd "$dest" && find . ! -type d | sed 's/^\.//' | LC_ALL=C sort)
[ "$got" = "$want" ] || fail "installed files differ from the list:
$(printf '%s\n' "$want" | diff - <(printf '%s\n' "$got") 2>/dev/null || printf 'want:\n%s\ngot:\n%s\n' "$want" "$got")"

"$dest/usr/sbin/wg-rtsync" --version | grep -qx "wg-rtsync [0-9.]*" ||
	fail "wg-rtsync --version: $("$dest/usr/sbin/wg-rtsync" --version 2>&1)"
"$dest/usr/sbin/wg-rtsync" --check-config -c "$dest/usr/share/doc/wg-rtsync/examples/wg-rtsync.yaml" \
	>/dev/null || fail "the example configuration is refused"
for page in man8/wg-rtsync.8 man5/wg-rtsync.yaml.5; do
	warnings=$(MANWIDTH=80 man -l "$dest/usr/share/man/$page" 2>&1 >/dev/null)
	[ -z "$warnings" ] || fail "man -l $page warns: $warnings"
done
for unit in wg-rtsync.service wg-rtsync-metrics.service; do
	grep -q "/usr/sbin/wg-rtsync" "$dest/usr/lib/systemd/system/$unit" ||
		fail "$unit does not run /usr/sbin/wg-rtsync"
	! grep -q "@[a-z_]*@" "$dest/usr/lib/systemd/system/$unit" ||
		fail "$unit has an unsubstituted @VAR@"
done
exposure=$(systemd-analyze security --offline=true --no-pager \
	"$dest/usr/lib/systemd/system/wg-rtsync.service" 2>/dev/null |
	sed -n 's/.*Overall exposure level for wg-rtsync.service: \([0-9.]*\).*/\1/p')
echo "systemd-analyze security --offline=true: exposure $exposure"
awk -v e="$exposure" 'BEGIN { exit !(e != "" && e <= 2.5) }' ||
	fail "exposure '$exposure' is above 2.5"

[ "$failures" -eq 0 ] && echo "install: $(echo "$want" | wc -l) files, as listed"
[ "$failures" -eq 0 ]
