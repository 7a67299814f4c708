/* prefix.h: IPv4 and IPv6 prefixes and addresses as one value type. */
#ifndef WGRS_PREFIX_H
#define WGRS_PREFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* "ffff:...:ffff/128" plus NUL, with room to spare. */
#define PREFIX_STRLEN 56

/* An address is a prefix whose len is the family's full length (32 or 128).
 * family is AF_INET or AF_INET6; an IPv4 address sits in addr[0..3], the rest
 * is zero. family 0 means "none" (no gateway, for instance). */
struct prefix {
	uint8_t family;
	uint8_t len;
	uint8_t addr[16];
};

/* Parses "192.0.2.0/24", "2001:db8::/32" or a bare address (a host prefix).
 * Host bits are cleared. Returns 0, or -EINVAL on bad text. */
int prefix_parse(const char *text, struct prefix *out);

/* As prefix_parse, but keeps the host bits: "fe80::1/64" stays fe80::1 with
 * len 64 (an interface address). */
int prefix_parse_keep_host(const char *text, struct prefix *out);

/* Parses a bare address (no "/len"). Returns 0 or -EINVAL. */
int addr_parse(const char *text, struct prefix *out);

/* Builds an address from raw bytes (4 or 16 of them, by family). */
void addr_from_bytes(struct prefix *out, int family, const void *bytes);

/* Writes "addr/len" into buf (PREFIX_STRLEN bytes) and returns buf. */
char *prefix_format(const struct prefix *p, char *buf);
/* Writes the address only, without "/len". */
char *addr_format(const struct prefix *p, char *buf);

/* Clears the bits after len. */
void prefix_normalise(struct prefix *p);
/* Returns p with len set to l and the bits after it cleared. */
struct prefix prefix_truncate(const struct prefix *p, unsigned l);

unsigned prefix_family_bits(int family); /* 32, 128, or 0 */
bool prefix_is_host(const struct prefix *p);
bool prefix_equal(const struct prefix *a, const struct prefix *b);
/* True when inner lies within outer (same family, inner.len >= outer.len,
 * the first outer.len bits equal). Host bits of inner beyond outer.len are
 * ignored, so an interface address with host bits set works as outer too. */
bool prefix_contains(const struct prefix *outer, const struct prefix *inner);
/* Total order: IPv4 before IPv6, then address bytes, then length. This is the
 * order of a pre-order trie walk, and the order of the reconciler's output. */
int prefix_cmp(const struct prefix *a, const struct prefix *b);
/* The same over void pointers, for qsort and bsearch of struct prefix arrays. */
int prefix_cmp_void(const void *a, const void *b);
/* Bit i (0 = most significant) of the address. */
static inline unsigned prefix_bit(const struct prefix *p, unsigned i)
{
	return (p->addr[i >> 3] >> (7 - (i & 7))) & 1u;
}
bool addr_is_link_local(const struct prefix *a);

#endif
