#!/usr/bin/env bash
# bench/genl_parse.sh: the daemon's own part of the idle poll against kernel
# WireGuard, natively (bench/bench_genl.c), written into the "genl-parse"
# section of docs/benchmarks.md. No root, no kernel WireGuard needed.
# usage: bench/genl_parse.sh [N...]       (default: 10000 100000 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_build bench/bench_genl
table=$($BENCH_BUILD/bench/bench_genl "$@")
cpu=$(cpu_model)
{
	echo "## The idle poll's parse (daemon, kernel WireGuard)"
	echo
	echo "Made by \`bench/genl_parse.sh\` on $(date -u +%Y-%m-%d): $cpu, $(nproc) cores,"
	echo "release build, commit $(git describe --always --dirty 2>/dev/null || echo unknown)."
	echo "Kernel WireGuard does not run on this machine's hardware, so the two parts"
	echo "of an idle poll are measured apart: the kernel's dump in the VM (B5 below,"
	echo "its floor), and here, natively, what wg-rtsync does with the dump it"
	echo "receives: every AllowedIP walked into the device's fingerprint"
	echo "(\`wg_genl_parse_fingerprint\`), on a dump made in memory like the kernel's"
	echo "(16 peers, half IPv4 /32, half IPv6 /64, messages of at most 32 KiB)."
	echo
	echo "$table"
} | /usr/bin/python3 bench/update_section.py docs/benchmarks.md genl-parse
