/* prefix.c: parsing, formatting and ordering of IPv4 and IPv6 prefixes. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "prefix.h"

unsigned prefix_family_bits(int family)
{
	if (family == AF_INET)
		return 32;
	if (family == AF_INET6)
		return 128;
	return 0;
}

/* Bytes of addr[] that carry the address; the rest stays zero. */
static size_t family_bytes(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* Reads a length of 1 to 3 decimal digits and nothing else. */
static int parse_len(const char *s, unsigned max, uint8_t *len)
{
	unsigned value = 0;
	size_t n = 0;

	for (; s[n]; n++) {
		if (s[n] < '0' || s[n] > '9' || n >= 3)
			return -EINVAL;
		value = value * 10 + (unsigned)(s[n] - '0');
	}
	if (n == 0 || value > max)
		return -EINVAL;
	*len = (uint8_t)value;
	return 0;
}

static int parse_any(const char *text, struct prefix *out, bool allow_len, bool keep_host)
{
	char buf[INET6_ADDRSTRLEN];
	const char *slash;
	struct prefix p;
	size_t addr_len;

	if (!text || !out)
		return -EINVAL;
	slash = strchr(text, '/');
	addr_len = slash ? (size_t)(slash - text) : strlen(text);
	if (addr_len == 0 || addr_len >= sizeof(buf) || (slash && !allow_len))
		return -EINVAL;
	memcpy(buf, text, addr_len);
	buf[addr_len] = '\0';

	memset(&p, 0, sizeof(p));
	/* Only IPv6 text has a colon; deciding first keeps errors unambiguous. */
	p.family = strchr(buf, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(p.family, buf, p.addr) != 1)
		return -EINVAL;
	p.len = (uint8_t)prefix_family_bits(p.family);
	if (slash && parse_len(slash + 1, p.len, &p.len) != 0)
		return -EINVAL;
	if (!keep_host)
		prefix_normalise(&p);
	*out = p;
	return 0;
}

int prefix_parse(const char *text, struct prefix *out)
{
	return parse_any(text, out, true, false);
}

int prefix_parse_keep_host(const char *text, struct prefix *out)
{
	return parse_any(text, out, true, true);
}

int addr_parse(const char *text, struct prefix *out)
{
	return parse_any(text, out, false, false);
}

void addr_from_bytes(struct prefix *out, int family, const void *bytes)
{
	memset(out, 0, sizeof(*out));
	if (family != AF_INET && family != AF_INET6)
		return;
	out->family = (uint8_t)family;
	out->len = (uint8_t)prefix_family_bits(family);
	memcpy(out->addr, bytes, family_bytes(family));
}

char *addr_format(const struct prefix *p, char *buf)
{
	if ((p->family != AF_INET && p->family != AF_INET6) ||
	    !inet_ntop(p->family, p->addr, buf, PREFIX_STRLEN))
		snprintf(buf, PREFIX_STRLEN, "none");
	return buf;
}

char *prefix_format(const struct prefix *p, char *buf)
{
	size_t n;

	addr_format(p, buf);
	if (p->family == AF_INET || p->family == AF_INET6) {
		n = strlen(buf);
		snprintf(buf + n, PREFIX_STRLEN - n, "/%u", p->len);
	}
	return buf;
}

void prefix_normalise(struct prefix *p)
{
	unsigned bits = prefix_family_bits(p->family);
	unsigned full;

	if (p->len > bits)
		p->len = (uint8_t)bits;
	full = p->len / 8;
	if (p->len % 8)
		p->addr[full++] &= (uint8_t)(0xff << (8 - p->len % 8));
	memset(p->addr + full, 0, sizeof(p->addr) - full);
}

struct prefix prefix_truncate(const struct prefix *p, unsigned l)
{
	struct prefix q = *p;

	q.len = (uint8_t)(l > 255 ? 255 : l);
	prefix_normalise(&q);
	return q;
}

bool prefix_is_host(const struct prefix *p)
{
	return p->family && p->len == prefix_family_bits(p->family);
}

bool prefix_equal(const struct prefix *a, const struct prefix *b)
{
	return prefix_cmp(a, b) == 0;
}

/* True when the first len bits of a and b are equal. */
static bool bits_equal(const uint8_t *a, const uint8_t *b, unsigned len)
{
	unsigned full = len / 8, rem = len % 8;
	uint8_t mask;

	if (memcmp(a, b, full) != 0)
		return false;
	if (!rem)
		return true;
	mask = (uint8_t)(0xff << (8 - rem));
	return ((a[full] ^ b[full]) & mask) == 0;
}

bool prefix_contains(const struct prefix *outer, const struct prefix *inner)
{
	return outer->family && outer->family == inner->family &&
	       inner->len >= outer->len &&
	       bits_equal(outer->addr, inner->addr, outer->len);
}

int prefix_cmp(const struct prefix *a, const struct prefix *b)
{
	int c;

	/* AF_INET (2) sorts before AF_INET6 (10), and "none" (0) first. */
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	c = memcmp(a->addr, b->addr, family_bytes(a->family));
	if (c)
		return c < 0 ? -1 : 1;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return 0;
}

int prefix_cmp_void(const void *a, const void *b)
{
	return prefix_cmp(a, b);
}

bool addr_is_link_local(const struct prefix *a)
{
	static const struct prefix ll4 = {AF_INET, 16, {169, 254}};
	static const struct prefix ll6 = {AF_INET6, 10, {0xfe, 0x80}};

	return prefix_contains(&ll4, a) || prefix_contains(&ll6, a);
}
