#!/bin/bash
# The kernel WireGuard backend (src/wg/wg_genl.c) against the VM's kernel:
# tests/unit/test_wg_genl_live. It skips itself (exit 77) where there is no
# kernel WireGuard; here that would be a broken VM, so it counts as failure.
# timeout: 300
rc=0
"$WGRS_BUILD/tests/unit/test_wg_genl_live" || rc=$?
if [ "$rc" = 77 ]; then
	echo "test_wg_genl_live skipped itself: no kernel WireGuard in the VM?"
	exit 1
fi
exit "$rc"
