/* backend.c: what every WireGuard backend offers through backend.h. */
#include "backend.h"

int wg_backend_get_changed(struct wg_backend *b, const char *ifname, uint64_t known,
			   struct wg_device *dev, bool *same)
{
	int r;

	*same = false;
	if (b->get_changed)
		return b->get_changed(b, ifname, known, dev, same);
	r = b->get(b, ifname, dev);
	if (!r && wg_device_fingerprint(dev) == known) {
		struct wg_key pubkey = dev->pubkey;

		wg_device_free(dev);
		dev->pubkey = pubkey;
		*same = true;
	}
	return r;
}
