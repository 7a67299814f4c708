/* vec.h: growing an array that a struct keeps as (pointer, count, capacity).
 * The capacity doubles (from VEC_MIN_CAP), so that n pushes cost O(n); a
 * size that would overflow fails like an allocation. On failure the array
 * is left as it was. */
#ifndef WGRS_VEC_H
#define WGRS_VEC_H

#include <errno.h>
#include <stddef.h>

#define VEC_MIN_CAP 8

/* Makes room for at least need elements of elem bytes in the array whose
 * pointer is at *vp (any object pointer type) with *cap elements. 0 or
 * -ENOMEM. */
int vec_reserve_(void *vp, size_t *cap, size_t need, size_t elem);

#define vec_reserve(v, cap, need) vec_reserve_(&(v), &(cap), (need), sizeof(*(v)))

/* Appends x to v (n elements, cap of room): 0 or -ENOMEM. */
#define vec_push(v, n, cap, x)                                                           \
	(vec_reserve(v, cap, (n) + 1) ? -ENOMEM : ((v)[(n)++] = (x), 0))

#endif
