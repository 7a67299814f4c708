/* escape.h: text from a file made safe to print on one line. Control
 * characters (C0, DEL and C1), the Unicode line and paragraph separators
 * and bytes that are not UTF-8 become C-style escapes: \n, \t, \r, \0,
 * \x1b, \u0085, \u2028. Everything else stays as it is. */
#ifndef WGRS_ESCAPE_H
#define WGRS_ESCAPE_H

#include <stddef.h>

/* Writes the escaped form of text (len bytes) into out (outlen bytes),
 * NUL-terminated when outlen > 0; when it does not fit, it is cut after a
 * whole character or escape. Returns the length written. */
size_t escape_text(char *out, size_t outlen, const char *text, size_t len);

#endif
