/* privs.c: least privilege with libcap-ng (see privs.h). */
#include <cap-ng.h>
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "privs.h"

int privs_keep_net_admin(bool *net_admin, char *msg, size_t msglen)
{
	capng_select_t which = CAPNG_SELECT_CAPS | CAPNG_SELECT_AMBIENT;
	capng_type_t sets = CAPNG_EFFECTIVE | CAPNG_PERMITTED;
	int rc;

	*net_admin = false;
	if (capng_get_caps_process()) {
		snprintf(msg, msglen, "cannot read the process's capabilities: %s",
			 strerror(errno));
		return -errno;
	}
	*net_admin = capng_have_capability(CAPNG_PERMITTED, CAP_NET_ADMIN);
	/* Only a process with CAP_SETPCAP may lower its bounding set. */
	if (capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP)) {
		which |= CAPNG_SELECT_BOUNDS;
		sets |= CAPNG_BOUNDING_SET;
	}
	capng_clear(CAPNG_SELECT_ALL);
	if (*net_admin)
		capng_update(CAPNG_ADD, sets, CAP_NET_ADMIN);
	rc = capng_apply(which);
	if (rc) {
		snprintf(msg, msglen, "cannot drop capabilities (libcap-ng error %d): %s",
			 rc, strerror(errno));
		return errno ? -errno : -EPERM;
	}
	/* No exec'd program could gain anything back (setuid, file caps). */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		snprintf(msg, msglen, "cannot set no_new_privs: %s", strerror(errno));
		return -errno;
	}
	return 0;
}
