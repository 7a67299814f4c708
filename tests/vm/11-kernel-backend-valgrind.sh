#!/bin/bash
# The same against the kernel, under valgrind: the socket paths the unit
# tests' fake transport cannot reach (replies read in full, errors, dumps
# spread over many messages). 2000 AllowedIPs instead of 20 000: valgrind
# under TCG is slow.
# timeout: 600
rc=0
WGRS_LIVE_ALLOWEDIPS=2000 valgrind -q --leak-check=full --error-exitcode=99 \
	--errors-for-leak-kinds=definite,indirect \
	"$WGRS_BUILD/tests/unit/test_wg_genl_live" || rc=$?
if [ "$rc" = 77 ]; then
	echo "test_wg_genl_live skipped itself: no kernel WireGuard in the VM?"
	exit 1
fi
exit "$rc"
