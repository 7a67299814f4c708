/* privs.c: least privilege with libcap-ng (see privs.h). */
#include <cap-ng.h>
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "log.h"
#include "privs.h"

/* Whether a set holds a capability other than CAP_NET_ADMIN (inh: or that
 * one too). */
static bool holds_more(capng_type_t set, bool inh)
{
	for (unsigned i = 0; i <= CAP_LAST_CAP; i++)
		if ((inh || i != CAP_NET_ADMIN) && capng_have_capability(set, i))
			return true;
	return false;
}

int privs_keep_net_admin(bool *net_admin, char *msg, size_t msglen)
{
	capng_select_t which = CAPNG_SELECT_AMBIENT;
	capng_type_t sets = CAPNG_EFFECTIVE | CAPNG_PERMITTED;
	bool more;
	int rc;

	*net_admin = false;
	if (capng_get_caps_process()) {
		snprintf(msg, msglen, "cannot read the process's capabilities: %s",
			 strerror(errno));
		return -errno;
	}
	*net_admin = capng_have_capability(CAPNG_PERMITTED, CAP_NET_ADMIN);
	more = holds_more(CAPNG_EFFECTIVE, false) || holds_more(CAPNG_PERMITTED, false);
	/* capset only where something is to go: a seccomp filter may refuse it
	 * (systemd's SystemCallFilter=~@privileged, wg-rtsync.service). */
	if (more || holds_more(CAPNG_INHERITABLE, true))
		which |= CAPNG_SELECT_CAPS;
	/* Only a process with CAP_SETPCAP may lower its bounding set. */
	if (capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP)) {
		which |= CAPNG_SELECT_BOUNDS;
		sets |= CAPNG_BOUNDING_SET;
	}
	capng_clear(CAPNG_SELECT_ALL);
	if (*net_admin)
		capng_update(CAPNG_ADD, sets, CAP_NET_ADMIN);
	rc = capng_apply(which);
	if (rc && !more && !capng_get_caps_process() &&
	    !holds_more(CAPNG_EFFECTIVE, false) && !holds_more(CAPNG_PERMITTED, false) &&
	    !holds_more(CAPNG_AMBIENT, true)) {
		/* Only the inheritable set could not be emptied: with no_new_privs
		 * and nothing else held, it gives nothing to anyone. */
		log_debug("capabilities: the inheritable set stays (capset refused)");
		rc = 0;
	}
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
