/* escape.c: one-line text (escape.h). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "escape.h"

/* The length of the UTF-8 sequence at s (at most len bytes) and its code
 * point, or 0 when it is not one (overlong forms and surrogates are not). */
static size_t utf8_char(const unsigned char *s, size_t len, uint32_t *cp)
{
	size_t n, i;
	uint32_t min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, min = 0x80, *cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, min = 0x800, *cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, min = 0x10000, *cp = s[0] & 0x07;
	else
		return 0;
	if (n > len)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*cp = *cp << 6 | (s[i] & 0x3f);
	}
	if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return n;
}

/* The escape for the character at s into esc, or 0 when it prints as it is. */
static size_t escape_one(const unsigned char *s, size_t len, size_t *used, char *esc)
{
	uint32_t cp;

	*used = utf8_char(s, len, &cp);
	if (*used == 0) {
		*used = 1;
		return (size_t)snprintf(esc, 8, "\\x%02x", s[0]);
	}
	switch (cp) {
	case '\0':
		return (size_t)snprintf(esc, 8, "\\0");
	case '\n':
		return (size_t)snprintf(esc, 8, "\\n");
	case '\r':
		return (size_t)snprintf(esc, 8, "\\r");
	case '\t':
		return (size_t)snprintf(esc, 8, "\\t");
	}
	if (cp < 0x20 || cp == 0x7f)
		return (size_t)snprintf(esc, 8, "\\x%02x", (unsigned)cp);
	if ((cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029)
		return (size_t)snprintf(esc, 8, "\\u%04x", (unsigned)cp);
	return 0;
}

size_t escape_text(char *out, size_t outlen, const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t o = 0, i = 0;

	if (outlen == 0)
		return 0;
	while (i < len) {
		char esc[8];
		size_t used, n = escape_one(s + i, len - i, &used, esc);
		const char *piece = n ? esc : text + i;

		if (!n)
			n = used;
		if (o + n >= outlen)
			break;
		memcpy(out + o, piece, n);
		o += n;
		i += used;
	}
	out[o] = '\0';
	return o;
}
