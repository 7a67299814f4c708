#!/bin/sh
# cli_test.sh WG_RTSYNC SRCDIR: the command line of docs/spec.md section 9, as far as
# it is built: --check-config, addr, --version, --help, usage errors, and the
# daemon and status where they need no WireGuard interface.
set -u
exe=$1
src=$2
failures=0
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# run STATUS ARGS...: runs wg-rtsync, checks its exit status. A run that
# blocks ends after a minute with status 124.
run() {
	status=$1
	shift
	# shellcheck disable=SC2086 # the wrapper is a command line
	timeout 60 ${WGRS_WRAPPER:-} "$exe" "$@" >"$out" 2>"$err"
	got=$?
	[ "$got" -eq "$status" ] || fail "wg-rtsync $*: exit $got, want $status ($(cat "$err"))"
}

# contains FILE TEXT
contains() {
	grep -qF -- "$2" "$1" || fail "missing '$2' in: $(cat "$1")"
}

example=$src/tests/config/example.yaml
run 0 --check-config -c "$example"
contains "$out" "$example: ok"

bad=$src/tests/config/bad-unknown-key.yaml
run 78 --check-config -c "$bad"
contains "$err" "$bad:6:5: interfaces.wg0.instal_routes: unknown key"
[ "$(wc -l <"$err")" -eq 1 ] || fail "the error is not one line: $(cat "$err")"
[ -s "$out" ] && fail "stdout not empty on error"

run 78 --check-config -c "$src/tests/config/bad-prefix.yaml"
contains "$err" ":4:5: prefixes[1]:"
run 78 --check-config --config "$src/tests/config/no-such-file.yaml"
contains "$err" "cannot open"
# The daemon refuses a bad file before anything else, too.
run 78 -c "$bad"

tmpdir=$(mktemp -d)
trap 'rm -f "$out" "$err"; rm -rf "$tmpdir"' EXIT
printf 'state_dir: %s\n' "$tmpdir" >"$tmpdir/c.yaml"

# The daemon: an interface named with -i that does not exist fails a
# oneshot run, which changes nothing (the namespace tests cover the rest).
run 1 -c "$tmpdir/c.yaml" -i wgrs-nonesuch0 --oneshot --dry-run -v -q
contains "$err" "wgrs-nonesuch0: no such WireGuard interface"
[ -s "$out" ] && fail "a dry run without interfaces planned something: $(cat "$out")"

# A state directory others could change is refused before anything is
# read (spec 6.1): the daemon exits 1 with one line that says why.
mkdir -m 0777 "$tmpdir/open"
chmod 0777 "$tmpdir/open"
printf 'state_dir: %s/open\n' "$tmpdir" >"$tmpdir/open.yaml"
run 1 -c "$tmpdir/open.yaml" --oneshot --dry-run
contains "$err" "state_dir $tmpdir/open is writable by its group or others (mode 0777)"
[ "$(wc -l <"$err")" -eq 1 ] || fail "the refusal is not one line: $(cat "$err")"
printf 'state_dir: %s/open/state\n' "$tmpdir" >"$tmpdir/open.yaml"
run 1 -c "$tmpdir/open.yaml" --oneshot --dry-run
contains "$err" "$tmpdir/open is writable by its group or others (mode 0777) and not sticky"
[ -e "$tmpdir/open/state" ] && fail "a refused state_dir was made"

# status: no daemon answers on the control socket in state_dir.
run 1 -c "$tmpdir/c.yaml" status
contains "$err" "status: no daemon answers on $tmpdir/control.sock"
run 1 -c "$tmpdir/c.yaml" status --json
run 2 -c "$tmpdir/c.yaml" status --yaml
contains "$err" "status: unknown argument '--yaml'"
# A bad file: the daemon runs on its old settings, so status still asks.
run 1 -c "$bad" status
contains "$err" "instal_routes: unknown key"
contains "$err" "asking at the default state_dir"

# Only a regular file is read: a FIFO is refused at once, not waited on;
# /dev/null is the empty file (the built-in defaults).
mkfifo "$tmpdir/fifo"
run 78 --check-config -c "$tmpdir/fifo"
contains "$err" "$tmpdir/fifo: not a regular file (a FIFO)"
run 0 --check-config -c /dev/null
contains "$out" "/dev/null: ok"
# Whatever the file holds, its error is one line.
printf '"bad\\nkey": 1\n' >"$tmpdir/newline.yaml"
run 78 --check-config -c "$tmpdir/newline.yaml"
contains "$err" "newline.yaml:1:1: bad\\nkey: unknown key"
[ "$(wc -l <"$err")" -eq 1 ] || fail "the error is not one line: $(cat "$err")"
# Nesting is bounded before the document is converted.
printf 'prefixes: %s\n' "$(printf '[%.0s' $(seq 100000))" >"$tmpdir/deep.yaml"
run 78 --check-config -c "$tmpdir/deep.yaml"
contains "$err" "deep.yaml:1:74: nesting deeper than 64 levels"

# addr: every vector, one call per key with all its prefixes in order.
vectors=$src/tests/vectors/derived-addresses.txt
[ -r "$vectors" ] || fail "no $vectors"
keys=$(grep -v '^#' "$vectors" | awk 'NF == 3 { print $1 }' | uniq)
[ -n "$keys" ] || fail "no vectors read"
for key in $keys; do
	prefixes=$(awk -v k="$key" '$1 == k { print $2 }' "$vectors")
	want=$(awk -v k="$key" '$1 == k { print $3 }' "$vectors")
	# shellcheck disable=SC2086 # one argument per prefix
	run 0 addr "$key" $prefixes
	[ "$(cat "$out")" = "$want" ] || fail "addr $key: got $(cat "$out"), want $want"
done

key=yAt0z6CubZ7rA1MomWueBwiagfeKAtJNkwFUUebvZk0=
run 2 addr notakey 10.237.0.0/16
contains "$err" "'notakey' is not a WireGuard public key"
run 2 addr "$key" 10.237.0.0/16 10.237.0.0/99
contains "$err" "'10.237.0.0/99'"
[ -s "$out" ] && fail "addr printed something before refusing"
run 2 addr "$key"
run 2 addr

run 0 --version
contains "$out" "wg-rtsync "
run 0 --help
contains "$out" "--check-config"
run 2 --no-such-option
run 2 frobnicate
contains "$err" "unknown command 'frobnicate'"

[ "$failures" -eq 0 ] || exit 1
echo "cli: all checks passed"
