#!/bin/bash
# The kernel WireGuard backend (src/wg/wg_genl.c) against the kernel:
# tests/unit/test_wg_genl_live, in the VM and in ./ci/test netns with
# WGRS_WG_FLAVOUR=kernel. It skips itself (exit 77) where there is no kernel
# WireGuard; here that would be a broken VM or host, so it counts as failure.
# timeout: 300
rc=0
"$WGRS_BUILD/tests/unit/test_wg_genl_live" || rc=$?
if [ "$rc" = 77 ]; then
	echo "test_wg_genl_live skipped itself: no kernel WireGuard here?"
	exit 1
fi
exit "$rc"
