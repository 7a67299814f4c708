#!/bin/bash
# wg-rtsync.service as meson installs it, started by systemd as PID 1 (the
# VM's systemd boot, docs/vm.md) on kernel WireGuard (issue 15):
# - `systemctl start` returns, and `is-active` answers `active`, only once
#   the first pass has converged: a drop-in's ExecStartPost (run once
#   READY=1 has come) stops the daemon with SIGSTOP, and the device and the
#   table are checked while it cannot change them any more;
# - STATUS= in `systemctl show`; RELOADING=1 and READY=1 on `systemctl
#   reload`, STOPPING=1 on `systemctl stop`, WATCHDOG=1 under the unit's
#   WatchdogSec= (systemd's own debug log records each notification);
# - the journal: the daemon's lines under -u wg-rtsync with their
#   priorities (-p warning shows the conflict's line, not the changes);
# - the hardening in force (CapBnd, NoNewPrivs, seccomp, a read-only root)
#   while the daemon keeps doing its job, and `systemd-analyze security`;
# - `wg-rtsync status` through the control socket in the RuntimeDirectory.
# init: systemd
# timeout: 900
set -u
cd "${WGRS_SRCDIR:-$(dirname "$0")/../..}" || exit 1

IF=wgvm0
# Routes via peer 1 to learn: enough that the first pass takes longer than
# systemd needs to run ExecStartPost after READY=1 (a READY=1 sent before
# the pass is then caught; 2000 take 0.15 s under TCG, ExecStartPost 0.1 s).
N_LEARN=20000
N_STATIC=100 # static AllowedIPs of peer 2 to install as routes
CONFLICT=2001:db8:c::/64
DEADLINE=${WGRS_CONVERGE:-120}
DROPIN=/etc/systemd/system/wg-rtsync.service.d/zz-vm-test.conf
tmp=$(mktemp -d)

note() { printf '%s %s\n' "$(cut -d' ' -f1 /proc/uptime)" "$*"; }

cleanup() {
	kill -CONT "$(systemctl show -P MainPID wg-rtsync 2>/dev/null)" 2>/dev/null
	systemctl stop wg-rtsync 2>/dev/null
	systemd-analyze log-level info 2>/dev/null
	rm -f "$DROPIN" /etc/wg-rtsync.yaml
	ip link del "$IF" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "FAILED: $*"
	echo "--- systemctl status wg-rtsync"
	systemctl status --no-pager -l wg-rtsync 2>&1 | tail -n 20
	echo "--- journalctl -u wg-rtsync (last 40)"
	journalctl -u wg-rtsync --no-pager -o short-monotonic 2>&1 | tail -n 40
	exit 1
}

# wait_for WHAT CMD...: polls CMD until it succeeds, DEADLINE seconds at most.
wait_for() {
	local what=$1 end=$((SECONDS + DEADLINE))
	shift
	until "$@"; do
		[ $SECONDS -lt $end ] || fail "$what: not within ${DEADLINE}s"
		sleep 0.2
	done
}

# systemd's debug log of the notifications from the daemon's PID since
# CURSOR: "Got notification message from PID N (READY=1, STATUS=...)".
notifications() { # CURSOR
	journalctl --no-pager -o cat --after-cursor="$1" _PID=1 |
		grep -E "Got notification message from PID $pid([^0-9]|$)"
}
notified() { # CURSOR FIELD=VALUE
	notifications "$1" | grep -Eq "[(,: ]$2([,) ]|\$)"
}
cursor() {
	journalctl -n 0 --show-cursor --no-pager | sed -n 's/^-- cursor: //p'
}

[ "$(cat /proc/1/comm)" = systemd ] || fail "PID 1 is $(cat /proc/1/comm), not systemd (ci/vm/selftest boots this scenario with systemd)"
note "systemd $(systemctl --version | head -n1 | cut -d' ' -f2), kernel $(uname -r); $(systemd-analyze time 2>&1 | head -n1)"

# ---- install, as an operator does from the source tree ----
meson install -C "$WGRS_BUILD" --no-rebuild --quiet >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log"; fail "meson install"; }
installed=$(sed -n 's/^\(\/.*\)$/\1/p' "$WGRS_BUILD/meson-logs/install-log.txt")
unit=$(grep '/wg-rtsync\.service$' <<<"$installed") || fail "meson installed no wg-rtsync.service"
binary=$(grep '/sbin/wg-rtsync$' <<<"$installed") || fail "meson installed no sbin/wg-rtsync"
systemctl daemon-reload
[ "$(systemctl show -P FragmentPath wg-rtsync)" = "$unit" ] ||
	fail "systemd loads $(systemctl show -P FragmentPath wg-rtsync), not the installed $unit"
systemctl show -P ExecStart wg-rtsync | grep -q "path=$binary " ||
	fail "ExecStart is not $binary: $(systemctl show -P ExecStart wg-rtsync)"
note "installed $unit, $binary"

# ---- a kernel WireGuard device: peer 1 with routes to learn, peer 2 with
# static AllowedIPs to install, one of which a route via peer 1 contests ----
key() { (umask 077 && wg genkey >"$tmp/$1") && wg pubkey <"$tmp/$1"; }
key self >/dev/null
P1=$(key p1) P2=$(key p2)
ip link add "$IF" type wireguard || fail "no kernel WireGuard"
wg set "$IF" private-key "$tmp/self"
ip addr add fe80::1/64 dev "$IF"
ip link set "$IF" up
# (From 1 on: wg(8) prints 2001:db8:5::/64, not 2001:db8:5:0::/64.)
static=$(for i in $(seq 1 $N_STATIC); do printf '2001:db8:5:%x::/64,' "$i"; done)
wg set "$IF" peer "$P1" allowed-ips fe80::2/128 \
	peer "$P2" allowed-ips "${static}fe80::3/128,$CONFLICT"
for i in $(seq 1 $N_LEARN); do
	printf 'route add 2001:db8:a:%x::/64 via fe80::2 dev %s proto static\n' "$i" "$IF"
done >"$tmp/learn.batch"
ip -batch "$tmp/learn.batch" || fail "adding the routes to learn"
# A route via peer 1 to one of peer 2's static AllowedIPs: a conflict that
# peer 2 keeps (spec 3.9), and a foreign route, so wg-rtsync installs none
# for that AllowedIP (4.2).
ip route add "$CONFLICT" via fe80::2 dev "$IF" proto static

cat >/etc/wg-rtsync.yaml <<EOF
interfaces:
  $IF: {}
EOF

# The check of READY=1: ExecStartPost runs once the daemon has said
# READY=1; the SIGSTOP freezes the state as it was then. Everything else
# is the unit as installed (the drop-in acts on a start only; it goes at
# the end).
mkdir -p "$(dirname "$DROPIN")"
cat >"$DROPIN" <<'EOF'
[Service]
ExecStartPost=+/bin/kill -STOP $MAINPID
EOF
systemctl daemon-reload
# systemd logs each notification message at debug level.
systemd-analyze log-level debug
c0=$(cursor)

# ---- start: active only once converged ----
t0=$SECONDS
systemctl start wg-rtsync || fail "systemctl start"
note "systemctl start returned after $((SECONDS - t0))s"
[ "$(systemctl is-active wg-rtsync)" = active ] || fail "is-active: $(systemctl is-active wg-rtsync)"
pid=$(systemctl show -P MainPID wg-rtsync)
[ "$(awk '{ print $3 }' "/proc/$pid/stat")" = T ] || fail "the daemon did not stop on READY=1"
wg show "$IF" allowed-ips | awk -v p="$P1" '$1 == p { for (i = 2; i <= NF; i++) print $i }' |
	sort >"$tmp/p1.have"
{
	echo fe80::2/128
	for i in $(seq 1 $N_LEARN); do printf '2001:db8:a:%x::/64\n' "$i"; done
} | sort >"$tmp/p1.want"
diff -q "$tmp/p1.want" "$tmp/p1.have" >/dev/null ||
	fail "READY=1 before the routes were learned: peer 1 has $(wc -l <"$tmp/p1.have") of $(wc -l <"$tmp/p1.want") AllowedIPs"
ip -6 route show table main proto 98 dev "$IF" | awk '{ print $1 }' | sort >"$tmp/routes.have"
tr ',' '\n' <<<"${static}" | sed '/^$/d' | sort >"$tmp/static.want"
missing=$(comm -23 "$tmp/static.want" "$tmp/routes.have" | wc -l)
[ "$missing" = 0 ] || fail "READY=1 before the static AllowedIPs were installed: $missing of $N_STATIC routes missing"
ip -6 route show table main dev "$IF" >"$tmp/routes.all"
kill -CONT "$pid"
note "at READY=1: $N_LEARN routes learned, $N_STATIC static AllowedIPs installed"

status=$(systemctl show -P StatusText wg-rtsync)
note "STATUS=$status"
# Installed: the static AllowedIPs and both gateways; not the contested
# prefix, which the route via peer 1 holds (spec 4.2).
[ "$status" = "interfaces 1, peers 2, learned $N_LEARN, installed $((N_STATIC + 2)), conflicts 1" ] ||
	fail "StatusText: $status"
notified "$c0" READY=1 || fail "no READY=1 in systemd's log"

# ---- the journal, with priorities ----
journalctl -u wg-rtsync -p info -o cat --no-pager >"$tmp/info"
journalctl -u wg-rtsync -p warning -o cat --no-pager >"$tmp/warning"
grep -q "^$IF: allowed-ip add " "$tmp/info" || fail "journalctl -p info: no allowed-ip lines"
grep -q "conflict.*$CONFLICT\|$CONFLICT.*conflict" "$tmp/warning" ||
	fail "journalctl -p warning: no conflict line for $CONFLICT: $(cat "$tmp/warning")"
! grep -q "allowed-ip add\|route add" "$tmp/warning" ||
	fail "journalctl -p warning shows info lines"
! grep -q '^<[0-9]>' "$tmp/info" || fail "a priority prefix left in the journal's text"
journalctl -u wg-rtsync -p err -o cat --no-pager | grep -q . &&
	fail "errors in the journal: $(journalctl -u wg-rtsync -p err -o cat --no-pager)"
note "journal: $(wc -l <"$tmp/info") lines at info, $(wc -l <"$tmp/warning") at warning: $(head -n1 "$tmp/warning")"

# ---- still at work, hardened: a new route is learned ----
ip route add 2001:db8:b::/64 via fe80::2 dev "$IF" proto static
learned_new() { wg show "$IF" allowed-ips | grep "^$P1" | grep -q '2001:db8:b::/64'; }
wait_for "a route added after the start learned" learned_new
wg-rtsync status >"$tmp/status" 2>&1 || fail "wg-rtsync status: $(cat "$tmp/status")"
grep -q "$IF" "$tmp/status" || fail "wg-rtsync status does not name $IF: $(cat "$tmp/status")"

# ---- the hardening, as the kernel sees the process ----
proc_field() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$pid/status"; }
[ "$(proc_field CapBnd)" = 0000000000001000 ] || fail "CapBnd $(proc_field CapBnd), not CAP_NET_ADMIN alone"
[ "$(proc_field CapEff)" = 0000000000001000 ] || fail "CapEff $(proc_field CapEff)"
[ "$(proc_field NoNewPrivs)" = 1 ] || fail "NoNewPrivs $(proc_field NoNewPrivs)"
[ "$(proc_field Seccomp)" = 2 ] || fail "no seccomp filter (Seccomp $(proc_field Seccomp))"
awk '$5 == "/" { print $6 }' "/proc/$pid/mountinfo" | grep -q '^ro' ||
	fail "the daemon's root is not read-only (ProtectSystem=strict)"
awk '$5 == "/run/wg-rtsync" { print $6 }' "/proc/$pid/mountinfo" | grep -q '^rw' ||
	fail "/run/wg-rtsync is not writable for the daemon"
systemd-analyze security --no-pager wg-rtsync >"$tmp/security" 2>&1 || true
exposure=$(sed -n 's/.*Overall exposure level for wg-rtsync.service: \([0-9.]*\).*/\1/p' "$tmp/security")
[ -n "$exposure" ] || fail "systemd-analyze security: $(tail -n 5 "$tmp/security")"
awk -v e="$exposure" 'BEGIN { exit !(e <= 2.5) }' || fail "exposure $exposure > 2.5"
note "hardening: CapBnd CAP_NET_ADMIN, NoNewPrivs, seccomp, read-only root; systemd-analyze security: $exposure"

# ---- reload: RELOADING=1, then READY=1 ----
c1=$(cursor)
systemctl reload wg-rtsync || fail "systemctl reload"
wait_for "RELOADING=1 on reload" notified "$c1" RELOADING=1
reloaded_ready() { notifications "$c1" | sed -n '/RELOADING=1/,$p' | grep -Eq '[(,: ]READY=1([,) ]|$)'; }
wait_for "READY=1 after RELOADING=1" reloaded_ready
[ "$(systemctl is-active wg-rtsync)" = active ] || fail "is-active after reload: $(systemctl is-active wg-rtsync)"
note "reload: RELOADING=1, READY=1"

# ---- the watchdog of the unit as installed: WatchdogSec=1min, so the
# event loop says WATCHDOG=1 at READY=1 and every 30 s after it ----
[ "$(systemctl show -P WatchdogUSec wg-rtsync)" = 1min ] ||
	fail "WatchdogUSec $(systemctl show -P WatchdogUSec wg-rtsync)"
watchdogs() { notifications "$c0" | grep -Ec '[(,: ]WATCHDOG=1([,) ]|$)'; }
second_watchdog() { [ "$(watchdogs)" -ge 2 ]; }
DEADLINE=90 wait_for "a second WATCHDOG=1 (WatchdogSec=1min)" second_watchdog
[ "$(systemctl show -P NRestarts wg-rtsync)" = 0 ] || fail "restarted: NRestarts $(systemctl show -P NRestarts wg-rtsync)"
journalctl --no-pager -o cat -u wg-rtsync | grep -q 'Watchdog timeout' && fail "systemd's watchdog fired"
note "watchdog: $(watchdogs) WATCHDOG=1 under WatchdogSec=1min, no restart"

# ---- stop: STOPPING=1, a clean exit ----
c2=$(cursor)
systemctl stop wg-rtsync || fail "systemctl stop"
notified "$c2" STOPPING=1 || fail "no STOPPING=1 on stop"
[ "$(systemctl is-active wg-rtsync)" = inactive ] || fail "is-active after stop: $(systemctl is-active wg-rtsync)"
[ "$(systemctl show -P Result wg-rtsync)" = success ] || fail "Result $(systemctl show -P Result wg-rtsync)"
[ "$(systemctl show -P ExecMainStatus wg-rtsync)" = 0 ] || fail "exit status $(systemctl show -P ExecMainStatus wg-rtsync)"
[ -d /run/wg-rtsync ] || fail "/run/wg-rtsync removed on stop (RuntimeDirectoryPreserve=yes)"
note "stop: STOPPING=1, exit 0"
