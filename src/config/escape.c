/* escape.c: one-line text (escape.h). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "escape.h"

/* The length of the UTF-8 character at s (at most len bytes) and its code
 * point, or 0 when the bytes are none (overlong forms and surrogates are
 * not). */
static size_t utf8_char(const unsigned char *s, size_t len, uint32_t *cp)
{
	static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
	size_t n = s[0] < 0x80	 ? 1
		   : s[0] < 0xc2 ? 0
		   : s[0] < 0xe0 ? 2
		   : s[0] < 0xf0 ? 3
		   : s[0] < 0xf5 ? 4
				 : 0;
	size_t i;

	if (n == 0 || n > len)
		return 0;
	*cp = n == 1 ? s[0] : s[0] & (0x7fu >> n);
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*cp = *cp << 6 | (s[i] & 0x3f);
	}
	if (*cp < least[n] || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return n;
}

/* Writes the escape of the character at s into esc and returns its length,
 * or 0 when the character prints as it is; *used is its length in s. */
static size_t escape_one(const unsigned char *s, size_t len, size_t *used, char *esc)
{
	static const char named[] = {
		['\0'] = '0', ['\t'] = 't', ['\n'] = 'n', ['\r'] = 'r'};
	uint32_t cp;

	*used = utf8_char(s, len, &cp);
	if (*used == 0) {
		*used = 1;
		return (size_t)sprintf(esc, "\\x%02x", s[0]);
	}
	if (cp < sizeof(named) && named[cp])
		return (size_t)sprintf(esc, "\\%c", named[cp]);
	if (cp < 0x20 || cp == 0x7f)
		return (size_t)sprintf(esc, "\\x%02x", (unsigned)cp);
	if ((cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029)
		return (size_t)sprintf(esc, "\\u%04x", (unsigned)cp);
	return 0;
}

size_t escape_text(char *out, size_t outlen, const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t o = 0, i = 0, used, n;
	char esc[16];

	if (outlen == 0)
		return 0;
	for (; i < len; i += used) {
		n = escape_one(s + i, len - i, &used, esc);
		if (o + (n ? n : used) >= outlen)
			break;
		memcpy(out + o, n ? esc : text + i, n ? n : used);
		o += n ? n : used;
	}
	out[o] = '\0';
	return o;
}
