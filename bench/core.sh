#!/usr/bin/env bash
# bench/core.sh: the core's speed and memory (bench/bench_core.c), in memory,
# written into the "core" section of docs/benchmarks.md.
# usage: bench/core.sh [N...]          (default: 10000 100000 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_build bench/bench_core
table=$($BENCH_BUILD/bench/bench_core "$@")
cpu=$(cpu_model)
{
	echo "## The core, in memory"
	echo
	echo "Made by \`bench/core.sh\` on $(date -u +%Y-%m-%d): $cpu, $(nproc) cores,"
	echo "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(. /etc/os-release && echo "$PRETTY_NAME"),"
	echo "$(cc --version | head -1), release build. One interface, 1000 peers, N"
	echo "foreign routes (half IPv6 /64, half IPv4 /32 via an IPv6 next hop) over the"
	echo "peers' derived link-local gateways; the fake backend stands in for the kernel."
	echo
	echo "$table"
	echo
	echo "- *feed*: the route dump handed to the model; *full pass*: the first pass,"
	echo "  which plans the N AllowedIP additions; *commit*: recording them as done;"
	echo "  *idle full pass*: a full pass after convergence (the periodic resync)."
	echo "- *event*: one route added or removed, then the incremental pass that plans"
	echo "  its one change; median and 99th percentile of 1000 such events."
	echo "- *heap B/prefix*: malloc'd bytes of the model (mallinfo2) per route, the"
	echo "  change list excluded; *model B/prefix*: what the model counts itself."
	echo
	echo "Targets (issue 2): single event under 10 us at 1 000 000 routes, full pass"
	echo "under 1 s at 1 000 000, under 150 bytes per prefix. The per-prefix figure is"
	echo "higher at 10 000 routes only because of fixed costs (1000 peers' records,"
	echo "gateway table, pool slabs) spread over fewer prefixes."
} | /usr/bin/python3 bench/update_section.py docs/benchmarks.md core
echo "bench/core.sh: docs/benchmarks.md updated"
