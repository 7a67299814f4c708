#!/usr/bin/env bash
# bench/idle_poll.sh: the CPU cost of the daemon's idle WireGuard poll
# against wireguard-go (bench/idle_poll.py), written into the "idle-poll"
# section of docs/benchmarks.md. Needs root (a network namespace).
# usage: sudo bench/idle_poll.sh [N...]       (default: 10000 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_build wg-rtsync
table=$(/usr/bin/python3 bench/idle_poll.py $BENCH_BUILD/wg-rtsync "$@")
cpu=$(cpu_model)
{
	echo "## The idle WireGuard poll (daemon, userspace WireGuard)"
	echo
	echo "Made by \`bench/idle_poll.sh\` on $(date -u +%Y-%m-%d): $cpu, $(nproc) cores,"
	echo "$(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r), $(wireguard-go --version | head -1),"
	echo "release build. One wireguard-go device in a namespace, two peers, one of"
	echo "them with N static AllowedIPs (IPv6 /64s), default configuration (so N"
	echo "routes are installed first). After convergence the CPU time of both"
	echo "processes is read from /proc over 30 s of idle polling at the default"
	echo "wg_poll_interval of 1 s."
	echo
	echo "$table"
	echo
	echo "- *first sync*: start to all N routes installed; *polls*: sync rounds in"
	echo "  the window; *per poll*: the daemon's CPU time per poll (read the whole"
	echo "  device with get=1 on a kept connection, hash its text as it arrives, find"
	echo "  the text read last time, whose fingerprint is the model's: nothing to"
	echo "  parse, nothing to do). A device that holds what the model says is not"
	echo "  diffed; the periodic resync diffs it in full."
	echo "- *wireguard-go*: what serving get=1 every second costs wireguard-go"
	echo "  itself; the UAPI has no cheaper read. A longer wg_poll_interval divides"
	echo "  both figures."
	echo "- CPU times come in clock ticks (10 ms): figures under about 0.05% are"
	echo "  at the resolution's edge."
	echo
	echo "Target (issue 3): at most 1% of a core for the daemon at 100 000"
	echo "AllowedIPs and the default interval."
} | /usr/bin/python3 bench/update_section.py docs/benchmarks.md idle-poll
echo "bench/idle_poll.sh: docs/benchmarks.md updated"
