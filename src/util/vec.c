/* vec.c: the array growth of vec.h. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vec.h"

int vec_reserve_(void *vp, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : VEC_MIN_CAP;
	void *v, *grown;

	if (need <= *cap)
		return 0;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return -ENOMEM;
		ncap *= 2;
	}
	if (ncap > SIZE_MAX / elem)
		return -ENOMEM;
	/* The caller's pointer may be of any object type: copied, not cast. */
	memcpy(&v, vp, sizeof(v));
	grown = realloc(v, ncap * elem);
	if (!grown)
		return -ENOMEM;
	memcpy(vp, &grown, sizeof(grown));
	*cap = ncap;
	return 0;
}
