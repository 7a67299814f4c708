/* fuzz_wg.c: the checks of the WireGuard targets (fuzz_wg.h). */
#include <string.h>

#include "fuzz.h"
#include "fuzz_wg.h"
#include "wg_plan.h"

void fuzz_wg_check_device(const struct wg_device *dev)
{
	FUZZ_CHECK((dev->n_peers == 0) == (dev->peers == NULL));
	for (size_t i = 0; i < dev->n_peers; i++) {
		const struct wg_peer *p = &dev->peers[i];

		FUZZ_CHECK(!wg_is_temp_peer(&p->key));
		FUZZ_CHECK((p->n_allowed == 0) == (p->allowed == NULL));
		for (size_t j = 0; j < p->n_allowed; j++)
			fuzz_check_prefix(&p->allowed[j]);
	}
}

void fuzz_wg_check_empty(const struct wg_device *dev)
{
	FUZZ_CHECK(dev->n_peers == 0 && dev->peers == NULL);
}

void fuzz_wg_check_same(const struct wg_device *a, const struct wg_device *b)
{
	FUZZ_CHECK(wg_key_cmp(&a->pubkey, &b->pubkey) == 0 && a->n_peers == b->n_peers);
	for (size_t i = 0; i < a->n_peers; i++) {
		const struct wg_peer *p = &a->peers[i], *q = &b->peers[i];

		FUZZ_CHECK(wg_key_cmp(&p->key, &q->key) == 0 &&
			   p->n_allowed == q->n_allowed);
		for (size_t j = 0; j < p->n_allowed; j++)
			FUZZ_CHECK(prefix_equal(&p->allowed[j], &q->allowed[j]));
	}
}

bool fuzz_wg_is_errno(int r)
{
	return r < 0 && r >= -4095;
}
