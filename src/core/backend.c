/* backend.c: what every WireGuard backend offers through backend.h. */
#include <errno.h>

#include "backend.h"

int wg_backend_get_changed(struct wg_backend *b, const char *ifname, uint64_t known,
			   struct wg_device *dev, bool *same)
{
	*same = false;
	if (b->get_changed)
		return b->get_changed(b, ifname, known, dev, same);
	return wg_backend_same(b->get(b, ifname, dev), dev, known, same);
}

int wg_backend_poll_start(struct wg_backend *b, const char *ifname, uint64_t known,
			  int *fd)
{
	*fd = -1;
	return b->poll_start ? b->poll_start(b, ifname, known, fd) : -EOPNOTSUPP;
}

int wg_backend_same(int r, struct wg_device *dev, uint64_t known, bool *same)
{
	if (!r && wg_device_fingerprint(dev) == known) {
		struct wg_key pubkey = dev->pubkey;

		wg_device_free(dev);
		dev->pubkey = pubkey;
		*same = true;
	}
	return r;
}
