#!/usr/bin/env bash
# bench/config_load.sh: the time `wg-rtsync --check-config` takes on valid
# configuration files of 1 000, 10 000 and 100 000 peers (release build),
# written into the "config-load" part of docs/reliability.md. Root only to
# install GNU time (the resident size) when it is missing.
# usage: bench/config_load.sh [N...]
set -euo pipefail
cd "$(dirname "$0")/.."
. ci/lib.sh
. bench/lib.sh
need_packages time
bench_build wg-rtsync
table=$(/usr/bin/python3 bench/config_load.py "$BENCH_BUILD/wg-rtsync" "$@")
{
	echo "Made by \`bench/config_load.sh\` on $(date -u +%Y-%m-%d): $(cpu_model),"
	echo "$(nproc) cores, release build, commit $(git describe --always --dirty 2>/dev/null || echo unknown)."
	echo
	echo "$table"
} | /usr/bin/python3 bench/update_section.py docs/reliability.md config-load
