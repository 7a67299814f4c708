/* statefile.c: the learned AllowedIPs of an interface on disk (docs/spec.md section 6).
 * The format is described in statefile.h. The writer replaces the file
 * atomically; the reader trusts nothing in it, and never deletes a file it
 * cannot use: that file may be the only record of what was learned. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "escape.h"
#include "fault.h"
#include "prefix_trie.h"
#include "statedir.h"
#include "statefile.h"
#include "vec.h"

#define MAGIC	     "wg-rtsync-state"
#define LINE_MAX_LEN 255
#define MAX_TOKENS   4
/* A file this big is not one we wrote (100 000 entries take ~15 MB). */
#define MAX_FILE_SIZE (256u << 20)
#define IFNAME_MAX    15
#define TMP_INFIX     ".state.tmp-"

static void say(char *msg, size_t msglen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;

	if (!msg || !msglen)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
}

static bool ifname_ok(const char *ifname)
{
	size_t len = ifname ? strlen(ifname) : 0;

	if (len == 0 || len > IFNAME_MAX || strchr(ifname, '/'))
		return false;
	return strcmp(ifname, ".") != 0 && strcmp(ifname, "..") != 0;
}

int statefile_path(const char *state_dir, const char *ifname, char *buf, size_t len)
{
	int w;

	if (!state_dir || !*state_dir || !ifname_ok(ifname))
		return -EINVAL;
	w = snprintf(buf, len, "%s/%s.state", state_dir, ifname);
	if (w < 0 || (size_t)w >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* ---- text format ---- */

/* A buffer that remembers a failed append, so that a whole text is
 * written first and checked once (tb_end). */
struct textbuf {
	struct buf b;
	bool failed;
};

/* Room for about expect bytes at once: one allocation for most texts. */
static void tb_start(struct textbuf *t, size_t expect)
{
	t->b = (struct buf){0};
	t->failed = buf_reserve(&t->b, expect) != 0;
}

static void tb_put(struct textbuf *t, const char *s, size_t len)
{
	if (!t->failed && buf_append(&t->b, s, len))
		t->failed = true;
}

static void tb_puts(struct textbuf *t, const char *s)
{
	tb_put(t, s, strlen(s));
}

/* Entries come grouped by peer: the base64 of the last key is reused. */
struct key_cache {
	struct wg_key key;
	char b64[WG_KEY_B64_LEN];
	bool valid;
};

static void tb_key(struct textbuf *t, struct key_cache *c, const struct wg_key *k)
{
	if (!c->valid || wg_key_cmp(&c->key, k)) {
		c->key = *k;
		wg_key_to_base64(k, c->b64);
		c->valid = true;
	}
	tb_put(t, c->b64, WG_KEY_B64_LEN - 1);
}

/* "PEER PREFIX [DISPLACED]\n" */
static void tb_entry(struct textbuf *t, struct key_cache *c, const struct own_entry *e)
{
	char pfx[PREFIX_STRLEN], disp[WG_KEY_B64_LEN];

	tb_key(t, c, &e->peer);
	tb_put(t, " ", 1);
	tb_puts(t, prefix_format(&e->dst, pfx));
	if (!wg_key_is_zero(&e->displaced)) {
		tb_put(t, " ", 1);
		tb_puts(t, wg_key_to_base64(&e->displaced, disp));
	}
	tb_put(t, "\n", 1);
}

/* "end N", and the text handed over (or freed when anything failed). */
static int tb_end(struct textbuf *t, size_t count, char **text, size_t *len)
{
	char end[32];

	snprintf(end, sizeof(end), "end %zu\n", count);
	tb_puts(t, end);
	if (t->failed) {
		buf_free(&t->b);
		return -ENOMEM;
	}
	*text = t->b.data;
	*len = t->b.len;
	return 0;
}

int statefile_format(const struct wg_key *device, const struct own_entry *v, size_t n,
		     char **text, size_t *len)
{
	struct textbuf t;
	struct key_cache cache = {.valid = false};
	char key[WG_KEY_B64_LEN], head[sizeof(MAGIC) + 16 + WG_KEY_B64_LEN];

	tb_start(&t, 256 + n * 80);
	snprintf(head, sizeof(head), MAGIC " %d %s\n", STATEFILE_VERSION,
		 wg_key_to_base64(device, key));
	tb_puts(&t, head);
	tb_puts(&t, "# peer, prefix it learned from a route, peer it displaced "
		    "(learned-wins); written by wg-rtsync, do not edit\n");
	for (size_t i = 0; i < n; i++)
		tb_entry(&t, &cache, &v[i]);
	return tb_end(&t, n, text, len);
}

int statefile_format_changes(const struct own_change *v, size_t n, size_t count,
			     char **text, size_t *len)
{
	struct textbuf t;
	struct key_cache cache = {.valid = false};
	char pfx[PREFIX_STRLEN];

	tb_start(&t, 64 + n * 82);
	for (size_t i = 0; i < n; i++) {
		if (v[i].owned) {
			tb_put(&t, "+ ", 2);
			tb_entry(&t, &cache, &v[i].e);
		} else {
			tb_put(&t, "- ", 2);
			tb_puts(&t, prefix_format(&v[i].e.dst, pfx));
			tb_put(&t, "\n", 1);
		}
	}
	return tb_end(&t, count, text, len);
}

int statefile_format_intents(const struct own_entry *v, size_t n, size_t count,
			     char **text, size_t *len)
{
	struct textbuf t;
	struct key_cache cache = {.valid = false};

	tb_start(&t, 64 + n * 82);
	for (size_t i = 0; i < n; i++) {
		tb_put(&t, "? ", 2);
		tb_entry(&t, &cache, &v[i]);
	}
	return tb_end(&t, count, text, len);
}

/* Splits line (modified in place) at blanks; returns the number of tokens,
 * at most MAX_TOKENS (one more than any valid line has). */
static int tokenise(char *line, char *tok[MAX_TOKENS])
{
	int n = 0;
	char *save = NULL;

	for (char *s = strtok_r(line, " \t", &save); s && n < MAX_TOKENS;
	     s = strtok_r(NULL, " \t", &save))
		tok[n++] = s;
	return n;
}

static bool key_parse(const char *s, struct wg_key *out)
{
	return strlen(s) == WG_KEY_B64_LEN - 1 && wg_key_from_base64(s, out) == 0;
}

/* Only the canonical form: "addr/len", host bits clear. */
static bool dst_parse(const char *s, struct prefix *out)
{
	struct prefix norm;

	if (!strchr(s, '/') || strlen(s) >= PREFIX_STRLEN)
		return false;
	if (prefix_parse_keep_host(s, out) != 0)
		return false;
	norm = *out;
	prefix_normalise(&norm);
	return memcmp(norm.addr, out->addr, sizeof(norm.addr)) == 0;
}

/* A line of the change block being read, applied once its end line is. */
struct span {
	size_t at, len;
	unsigned lineno;
};

struct parser {
	const struct wg_key *device;
	const char *text;
	struct own_entry *v; /* removed entries have dst.family 0 */
	size_t n, cap, live;
	struct own_entry *intents; /* not settled by a change block yet */
	size_t n_intents, cap_intents;
	bool have_header, ended;
	int version;
	unsigned long end_count;
	struct span *block;
	size_t n_block, cap_block;
	char block_kind;     /* '?': intents, '+': changes ("+" and "-" lines) */
	struct ptrie *index; /* prefix -> entry index + 1, from the first block */
	char *why;
	size_t whylen;
};

/* A token of the file as a reason quotes it: its first max bytes, escaped
 * (escape.h), so that the reason stays one line in the log. */
static const char *quote(const char *tok, size_t max, char *out, size_t outlen)
{
	escape_text(out, outlen, tok, strnlen(tok, max));
	return out;
}

static int parse_header(struct parser *ps, char **tok, int ntok, unsigned lineno)
{
	struct wg_key key;
	char have[WG_KEY_B64_LEN], want[WG_KEY_B64_LEN], shown[80];

	if (ntok < 1 || strcmp(tok[0], MAGIC) != 0) {
		say(ps->why, ps->whylen, "line %u: not a wg-rtsync state file", lineno);
		return -EINVAL;
	}
	if (ntok < 2 || strlen(tok[1]) != 1 || tok[1][0] < '1' ||
	    tok[1][0] > '0' + STATEFILE_VERSION) {
		say(ps->why, ps->whylen,
		    "line %u: format version %s, this build reads 1 to %d", lineno,
		    ntok < 2 ? "(none)" : quote(tok[1], 16, shown, sizeof(shown)),
		    STATEFILE_VERSION);
		return -EINVAL;
	}
	ps->version = tok[1][0] - '0';
	if (ntok != 3 || !key_parse(tok[2], &key)) {
		say(ps->why, ps->whylen, "line %u: bad device key in the header", lineno);
		return -EINVAL;
	}
	if (wg_key_cmp(&key, ps->device) != 0) {
		say(ps->why, ps->whylen, "written for device key %s, the device has %s",
		    wg_key_to_base64(&key, have), wg_key_to_base64(ps->device, want));
		return -ESTALE;
	}
	ps->have_header = true;
	return 0;
}

static int parse_count(struct parser *ps, char **tok, int ntok, unsigned lineno)
{
	char *endp;

	errno = 0;
	if (ntok != 2 || tok[1][0] < '0' || tok[1][0] > '9' ||
	    (ps->end_count = strtoul(tok[1], &endp, 10), errno) || *endp) {
		say(ps->why, ps->whylen, "line %u: bad end line", lineno);
		return -EINVAL;
	}
	if (ps->end_count != ps->live) {
		say(ps->why, ps->whylen,
		    "line %u: end says %lu entries, the file has %zu", lineno,
		    ps->end_count, ps->live);
		return -EINVAL;
	}
	return 0;
}

/* A prefix belongs to one peer at a time: two lines for one prefix mean the
 * file is not ours. */
static int check_duplicates(struct parser *ps)
{
	struct prefix *d;
	char text[PREFIX_STRLEN];
	int r = 0;

	if (ps->n < 2)
		return 0;
	d = malloc(ps->n * sizeof(*d));
	if (!d)
		return -ENOMEM;
	for (size_t i = 0; i < ps->n; i++)
		d[i] = ps->v[i].dst;
	qsort(d, ps->n, sizeof(*d), prefix_cmp_void);
	for (size_t i = 1; i < ps->n && !r; i++) {
		if (prefix_equal(&d[i - 1], &d[i])) {
			say(ps->why, ps->whylen, "prefix %s is listed twice",
			    prefix_format(&d[i], text));
			r = -EINVAL;
		}
	}
	free(d);
	return r;
}

static int parse_end(struct parser *ps, char **tok, int ntok, unsigned lineno)
{
	int r = parse_count(ps, tok, ntok, lineno);

	if (!r)
		r = check_duplicates(ps);
	ps->ended = !r;
	return r;
}

/* PEER PREFIX [DISPLACED] into e. */
static int parse_fields(struct parser *ps, char **tok, int ntok, unsigned lineno,
			struct own_entry *e)
{
	char shown[256];

	memset(e, 0, sizeof(*e));
	if (ntok < 2 || ntok > 3) {
		say(ps->why, ps->whylen, "line %u: expected PEER PREFIX [DISPLACED]",
		    lineno);
		return -EINVAL;
	}
	if (!key_parse(tok[0], &e->peer)) {
		say(ps->why, ps->whylen, "line %u: bad peer key", lineno);
		return -EINVAL;
	}
	if (!dst_parse(tok[1], &e->dst)) {
		say(ps->why, ps->whylen, "line %u: bad prefix \"%s\"", lineno,
		    quote(tok[1], 60, shown, sizeof(shown)));
		return -EINVAL;
	}
	if (ntok == 3 && (!key_parse(tok[2], &e->displaced) ||
			  wg_key_cmp(&e->displaced, &e->peer) == 0)) {
		say(ps->why, ps->whylen, "line %u: bad displaced peer key", lineno);
		return -EINVAL;
	}
	return 0;
}

static int push_entry(struct parser *ps, const struct own_entry *e)
{
	if (vec_push(ps->v, ps->n, ps->cap, *e))
		return -ENOMEM;
	ps->live++;
	return 0;
}

static int parse_entry(struct parser *ps, char **tok, int ntok, unsigned lineno)
{
	struct own_entry e;
	int r = parse_fields(ps, tok, ntok, lineno, &e);

	return r ? r : push_entry(ps, &e);
}

static int parse_line(struct parser *ps, char *line, unsigned lineno)
{
	char *tok[MAX_TOKENS];
	int ntok;

	if (ps->have_header && line[0] == '#')
		return 0;
	ntok = tokenise(line, tok);
	if (!ps->have_header)
		return parse_header(ps, tok, ntok, lineno);
	if (ntok == 0) {
		say(ps->why, ps->whylen, "line %u: empty line", lineno);
		return -EINVAL;
	}
	if (strcmp(tok[0], "end") == 0)
		return parse_end(ps, tok, ntok, lineno);
	return parse_entry(ps, tok, ntok, lineno);
}

/* Copies one line of text into line (LINE_MAX_LEN + 1 bytes), refusing
 * what no writer of ours makes. */
static int copy_line(struct parser *ps, const char *start, size_t l, unsigned lineno,
		     char *line)
{
	if (l > LINE_MAX_LEN) {
		say(ps->why, ps->whylen, "line %u: too long", lineno);
		return -EINVAL;
	}
	if (memchr(start, '\0', l)) {
		say(ps->why, ps->whylen, "line %u: contains a NUL byte", lineno);
		return -EINVAL;
	}
	memcpy(line, start, l);
	line[l] = '\0';
	return 0;
}

static int build_index(struct parser *ps)
{
	ps->index = ptrie_new();
	if (!ps->index)
		return -ENOMEM;
	for (size_t i = 0; i < ps->n; i++)
		if (ptrie_set(ps->index, &ps->v[i].dst, (void *)(uintptr_t)(i + 1)) < 0)
			return -ENOMEM;
	return 0;
}

static int apply_change(struct parser *ps, char **tok, int ntok, unsigned lineno)
{
	struct own_entry e;
	uintptr_t at;
	int r;

	if (!strcmp(tok[0], "-")) {
		if (ntok != 2 || !dst_parse(tok[1], &e.dst)) {
			say(ps->why, ps->whylen, "line %u: expected - PREFIX", lineno);
			return -EINVAL;
		}
		at = (uintptr_t)ptrie_del(ps->index, &e.dst);
		if (at) {
			ps->v[at - 1].dst.family = 0;
			ps->live--;
		}
		return 0;
	}
	r = parse_fields(ps, tok + 1, ntok - 1, lineno, &e);
	if (r)
		return r;
	at = (uintptr_t)ptrie_get(ps->index, &e.dst);
	if (at) {
		ps->v[at - 1] = e;
		return 0;
	}
	r = push_entry(ps, &e);
	if (!r && ptrie_set(ps->index, &e.dst, (void *)(uintptr_t)ps->n) < 0)
		r = -ENOMEM;
	return r;
}

/* "? PEER PREFIX [DISPLACED]": kept until a change block settles it. */
static int add_intent(struct parser *ps, char **tok, int ntok, unsigned lineno)
{
	struct own_entry e;
	int r = parse_fields(ps, tok + 1, ntok - 1, lineno, &e);

	return r ?: vec_push(ps->intents, ps->n_intents, ps->cap_intents, e);
}

/* The end line of a block: the block is whole, apply it. */
static int apply_block(struct parser *ps, char *end_line, unsigned lineno)
{
	char line[LINE_MAX_LEN + 1], *tok[MAX_TOKENS];
	bool intents = ps->block_kind == '?';
	int ntok, r = 0;

	if (!intents && !ps->index)
		r = build_index(ps);
	if (!intents)
		ps->n_intents = 0; /* what the round did settles what it meant to */
	for (size_t i = 0; !r && i < ps->n_block; i++) {
		const struct span *sp = &ps->block[i];

		r = copy_line(ps, ps->text + sp->at, sp->len, sp->lineno, line);
		if (!r) {
			ntok = tokenise(line, tok);
			r = intents ? add_intent(ps, tok, ntok, sp->lineno)
				    : apply_change(ps, tok, ntok, sp->lineno);
		}
	}
	ps->n_block = 0;
	ps->block_kind = 0;
	if (r)
		return r;
	ntok = tokenise(end_line, tok);
	return parse_count(ps, tok, ntok, lineno);
}

/* A line after the snapshot: a change, kept until its block's end line, or
 * that end line. */
static int parse_change_line(struct parser *ps, size_t at, size_t l, unsigned lineno)
{
	const char *p = ps->text + at;
	char line[LINE_MAX_LEN + 1];
	char kind = 0;
	int r;

	if (ps->version >= 2 && l >= 2 && (p[0] == '+' || p[0] == '-') && p[1] == ' ')
		kind = '+';
	else if (ps->version >= 3 && l >= 2 && p[0] == '?' && p[1] == ' ')
		kind = '?';
	if (kind) {
		if (ps->block_kind && ps->block_kind != kind) {
			say(ps->why, ps->whylen,
			    "line %u: intents and changes in one block", lineno);
			return -EINVAL;
		}
		ps->block_kind = kind;
		return vec_push(ps->block, ps->n_block, ps->cap_block,
				((struct span){at, l, lineno}));
	}
	/* Version 3 writes an empty block to settle intents. */
	if ((ps->n_block || ps->version >= 3) && l > 4 && !memcmp(p, "end ", 4)) {
		r = copy_line(ps, p, l, lineno, line);
		return r ? r : apply_block(ps, line, lineno);
	}
	say(ps->why, ps->whylen, "line %u: data after the end line", lineno);
	return -EINVAL;
}

static int parse_all(struct parser *ps, const char *text, size_t len)
{
	char line[LINE_MAX_LEN + 1];
	size_t pos = 0;
	unsigned lineno = 0;
	int r;

	ps->text = text;
	while (pos < len) {
		const char *start = text + pos;
		const char *nl = memchr(start, '\n', len - pos);
		size_t l;

		lineno++;
		if (!nl && ps->ended)
			break; /* the torn end of a block that was being appended */
		if (!nl) {
			say(ps->why, ps->whylen, "line %u: truncated (no line end)",
			    lineno);
			return -EINVAL;
		}
		l = (size_t)(nl - start);
		if (ps->ended)
			r = parse_change_line(ps, pos, l, lineno);
		else
			r = copy_line(ps, start, l, lineno, line)
				    ?: parse_line(ps, line, lineno);
		if (r)
			return r;
		pos += l + 1;
	}
	if (!ps->have_header) {
		say(ps->why, ps->whylen, "empty file");
		return -EINVAL;
	}
	if (!ps->ended) {
		say(ps->why, ps->whylen, "truncated: no end line after line %u", lineno);
		return -EINVAL;
	}
	/* A block without its end line (ps->n_block) was never completed. */
	return 0;
}

/* Drops the entries the changes removed. */
static void compact(struct parser *ps)
{
	size_t k = 0;

	for (size_t i = 0; i < ps->n; i++)
		if (ps->v[i].dst.family)
			ps->v[k++] = ps->v[i];
	ps->n = k;
}

int statefile_parse(const char *text, size_t len, const struct wg_key *device,
		    struct own_entry **out, size_t *n, size_t *n_intents, char *why,
		    size_t whylen)
{
	struct parser ps = {.device = device, .why = why, .whylen = whylen};
	int r;

	*out = NULL;
	*n = 0;
	if (n_intents)
		*n_intents = 0;
	say(why, whylen, "%s", "");
	r = parse_all(&ps, text, len);
	free(ps.block);
	ptrie_free(ps.index, NULL);
	if (!r) {
		compact(&ps);
		r = vec_reserve(ps.v, ps.cap, ps.n + ps.n_intents);
	}
	if (r) {
		if (r == -ENOMEM)
			say(why, whylen, "out of memory");
		free(ps.v);
		free(ps.intents);
		return r;
	}
	if (ps.n_intents)
		memcpy(ps.v + ps.n, ps.intents, ps.n_intents * sizeof(*ps.v));
	free(ps.intents);
	*out = ps.v;
	*n = ps.n;
	if (n_intents)
		*n_intents = ps.n_intents;
	return 0;
}

/* ---- writing ---- */

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Creates a new file named like ".IFNAME.state.tmp-XXXXXX" in dirfd (no
 * mkostempat in libc); its name goes into name. */
static int create_tmp(int dirfd, const char *ifname, char *name, size_t len)
{
	static const char chars[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char rnd[6];

	for (int tries = 0; tries < 100; tries++) {
		char suffix[sizeof(rnd) + 1];
		int fd, w;

		if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
			uint64_t t = (uint64_t)time(NULL) * 2654435761u + (uint64_t)tries;

			memcpy(rnd, &t, sizeof(rnd));
		}
		for (size_t i = 0; i < sizeof(rnd); i++)
			suffix[i] = chars[rnd[i] % (sizeof(chars) - 1)];
		suffix[sizeof(rnd)] = '\0';
		w = snprintf(name, len, ".%s" TMP_INFIX "%s", ifname, suffix);
		if (w < 0 || (size_t)w >= len)
			return -ENAMETOOLONG;
		fd = openat(dirfd, name,
			    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd >= 0 ? fd : -errno;
	}
	return -EEXIST;
}

/* Writes text into a new temporary file in dirfd, and renames it over
 * name. On failure the temporary file is gone and what failed is in
 * *step. */
static int replace_file(int dirfd, const char *ifname, const char *name, const char *text,
			size_t len, const char **step)
{
	char tmp[NAME_MAX + 1];
	int fd, r;

	*step = "creating a temporary file";
	fd = create_tmp(dirfd, ifname, tmp, sizeof(tmp));
	if (fd < 0)
		return fd;
	*step = "writing the temporary file";
	r = write_all(fd, text, len);
	if (!r) {
		*step = "syncing the temporary file";
		r = fsync(fd) != 0 ? -errno : 0;
	}
	if (close(fd) != 0 && !r) {
		*step = "closing the temporary file";
		r = -errno;
	}
	if (!r)
		FAULT_POINT("state-save-tmp");
	if (!r) {
		*step = "renaming the temporary file into place";
		r = renameat(dirfd, tmp, dirfd, name) != 0 ? -errno : 0;
	}
	if (r)
		unlinkat(dirfd, tmp, 0);
	return r;
}

/* The file name of ifname's state file, checked as statefile_path checks. */
static int file_name(const char *ifname, char *buf, size_t len)
{
	int w;

	if (!ifname_ok(ifname))
		return -EINVAL;
	w = snprintf(buf, len, "%s.state", ifname);
	return w < 0 || (size_t)w >= len ? -ENAMETOOLONG : 0;
}

/* The path of the file (for messages) and its directory, opened safely
 * (statedir.h); -ENOENT without create when there is none. */
static int open_dir(const char *state_dir, const char *ifname, bool create, char *path,
		    size_t pathlen, char *name, size_t namelen, char *msg, size_t msglen)
{
	char why[STATEDIR_MSG_LEN];
	int r = statefile_path(state_dir, ifname, path, pathlen);

	if (!r)
		r = file_name(ifname, name, namelen);
	if (r) {
		say(msg, msglen, "state file for interface \"%.32s\" in \"%.200s\": %s",
		    ifname ? ifname : "", state_dir ? state_dir : "", strerror(-r));
		return r;
	}
	r = statedir_open(state_dir, create, why, sizeof(why));
	if (r < 0)
		say(msg, msglen, "%s", why);
	return r;
}

int statefile_save(const char *state_dir, const char *ifname, const struct wg_key *device,
		   const struct own_entry *v, size_t n, char *msg, size_t msglen)
{
	char path[PATH_MAX], name[NAME_MAX + 1];
	char *text = NULL;
	size_t len = 0;
	const char *step = "";
	int dirfd, r;

	say(msg, msglen, "%s", "");
	dirfd = open_dir(state_dir, ifname, true, path, sizeof(path), name, sizeof(name),
			 msg, msglen);
	if (dirfd < 0)
		return dirfd;
	r = statefile_format(device, v, n, &text, &len);
	if (r) {
		say(msg, msglen, "state file %s: out of memory", path);
		close(dirfd);
		return r;
	}
	r = replace_file(dirfd, ifname, name, text, len, &step);
	free(text);
	if (r) {
		say(msg, msglen,
		    "state file %s not written (%s: %s); the previous one is kept", path,
		    step, strerror(-r));
		close(dirfd);
		return r;
	}
	/* The rename is only durable once the directory is on disk. */
	r = fsync(dirfd) != 0 ? -errno : 0;
	if (r)
		say(msg, msglen, "state file %s written, but syncing %s failed: %s", path,
		    state_dir, strerror(-r));
	close(dirfd);
	if (!r)
		FAULT_POINT("state-save");
	return r;
}

/* Opens name in dirfd without following a link or blocking on a FIFO;
 * anything but a regular file is -EINVAL. */
static int open_regular(int dirfd, const char *name, int flags)
{
	struct stat st;
	int fd = openat(dirfd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return errno == ELOOP ? -EINVAL : -errno; /* a symbolic link */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

int statefile_open_append(const char *state_dir, const char *ifname, int *fd, char *msg,
			  size_t msglen)
{
	char path[PATH_MAX], name[NAME_MAX + 1];
	int dirfd, r;

	say(msg, msglen, "%s", "");
	*fd = -1;
	dirfd = open_dir(state_dir, ifname, false, path, sizeof(path), name, sizeof(name),
			 msg, msglen);
	if (dirfd == -ENOENT)
		say(msg, msglen, "state file %s: opening it to append: %s", path,
		    strerror(ENOENT));
	if (dirfd < 0)
		return dirfd;
	/* No O_CREAT: only a file statefile_save made gets changes. */
	r = open_regular(dirfd, name, O_WRONLY | O_APPEND);
	close(dirfd);
	if (r < 0) {
		say(msg, msglen, "state file %s: opening it to append: %s", path,
		    r == -EINVAL ? "not a regular file" : strerror(-r));
		return r;
	}
	*fd = r;
	return 0;
}

/* Appends a formatted block (r: the formatter's result; text is freed) in
 * one write and syncs it: a crash leaves it whole or without its end line.
 * point: the fault point after it. */
static int append_block(int fd, int r, char *text, size_t len, const char *what,
			const char *point, size_t *bytes, char *msg, size_t msglen)
{
	say(msg, msglen, "%s", "");
	if (bytes)
		*bytes = 0;
	if (r) {
		say(msg, msglen, "state file: out of memory");
		return r;
	}
	r = write_all(fd, text, len);
	if (!r && fdatasync(fd) != 0)
		r = -errno;
	free(text);
	if (r) {
		say(msg, msglen, "state file: appending the %s: %s", what, strerror(-r));
		return r;
	}
	FAULT_POINT(point);
	if (bytes)
		*bytes = len;
	return 0;
}

int statefile_append_to(int fd, const struct own_change *v, size_t n, size_t count,
			size_t *bytes, char *msg, size_t msglen)
{
	char *text = NULL;
	size_t len = 0;
	int r = statefile_format_changes(v, n, count, &text, &len);

	return append_block(fd, r, text, len, "changes", "state-changes", bytes, msg,
			    msglen);
}

int statefile_append_intents(int fd, const struct own_entry *v, size_t n, size_t count,
			     size_t *bytes, char *msg, size_t msglen)
{
	char *text = NULL;
	size_t len = 0;
	int r = statefile_format_intents(v, n, count, &text, &len);

	return append_block(fd, r, text, len, "intents", "state-intent", bytes, msg,
			    msglen);
}

int statefile_append(const char *state_dir, const char *ifname,
		     const struct own_change *v, size_t n, size_t count, size_t *bytes,
		     char *msg, size_t msglen)
{
	int fd, r = statefile_open_append(state_dir, ifname, &fd, msg, msglen);

	if (bytes)
		*bytes = 0;
	if (r)
		return r;
	r = statefile_append_to(fd, v, n, count, bytes, msg, msglen);
	if (close(fd) != 0 && !r) {
		r = -errno;
		say(msg, msglen, "state file: closing it: %s", strerror(-r));
	}
	return r;
}

/* ---- reading ---- */

/* Removes the temporary files of ifname that a crash in statefile_save left. */
static void remove_stale_tmp(int dirfd, const char *ifname)
{
	char prefix[IFNAME_MAX + sizeof(TMP_INFIX) + 2];
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	snprintf(prefix, sizeof(prefix), ".%s" TMP_INFIX, ifname);
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			unlinkat(dirfd, de->d_name, 0);
	}
	closedir(d);
}

/* Moves name (in dirfd) to a name no other file has: name.bad-TIMESTAMP[-N],
 * which goes into aside. */
static int set_aside(int dirfd, const char *name, char *aside, size_t len)
{
	char stamp[32];
	struct tm tm;
	time_t now = time(NULL);

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (int i = 1; i < 1000; i++) {
		int w = i == 1 ? snprintf(aside, len, "%s.bad-%s", name, stamp)
			       : snprintf(aside, len, "%s.bad-%s-%d", name, stamp, i);
		if (w < 0 || (size_t)w >= len)
			return -ENAMETOOLONG;
		if (renameat2(dirfd, name, dirfd, aside, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno == EEXIST)
			continue;
		if (errno != EINVAL && errno != ENOSYS)
			return -errno;
		/* No RENAME_NOREPLACE here: link() never replaces either. */
		if (linkat(dirfd, name, dirfd, aside, 0) == 0)
			return unlinkat(dirfd, name, 0) == 0 ? 0 : -errno;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

/* Opens and parses; on -EINVAL/-ESTALE (or an unreadable file) why says what
 * is wrong and the caller sets the file aside. */
static int load_file(int dirfd, const char *name, const struct wg_key *device,
		     struct own_entry **out, size_t *n, size_t *n_intents, char *why,
		     size_t whylen)
{
	struct buf text = {0};
	int fd, r;

	fd = open_regular(dirfd, name, O_RDONLY);
	if (fd == -ENOENT)
		return fd;
	if (fd == -EINVAL) {
		say(why, whylen, "not a regular file");
		return fd;
	}
	if (fd < 0) {
		say(why, whylen, "cannot open it: %s", strerror(-fd));
		return -EIO;
	}
	/* -EFBIG: a file no writer of ours made. */
	r = buf_read_fd(&text, fd, 0, MAX_FILE_SIZE);
	close(fd);
	if (!r) {
		r = statefile_parse(text.data, text.len, device, out, n, n_intents, why,
				    whylen);
	} else if (r != -ENOMEM) {
		say(why, whylen, "cannot read it: %s", strerror(-r));
		r = -EIO;
	}
	buf_free(&text);
	return r;
}

/* What read_state found out, for the caller's messages. */
struct reading {
	char path[PATH_MAX], name[NAME_MAX + 1], why[512];
	int dirfd; /* open when the file was there; -1 else */
};

/* Opens the directory (tidy: removes the temporary files of a crash) and
 * reads the file: 0 with its entries, or none when there is no directory or
 * no file (rd->dirfd -1 then); -errno with msg for a directory that cannot
 * be used (rd->dirfd -1); or load_file's error with rd->why, rd->dirfd
 * open. */
static int read_state(const char *state_dir, const char *ifname,
		      const struct wg_key *device, bool tidy, struct own_entry **out,
		      size_t *n, size_t *n_intents, struct reading *rd, char *msg,
		      size_t msglen)
{
	int r;

	*out = NULL;
	*n = 0;
	if (n_intents)
		*n_intents = 0;
	rd->why[0] = '\0';
	say(msg, msglen, "%s", "");
	rd->dirfd = open_dir(state_dir, ifname, false, rd->path, sizeof(rd->path),
			     rd->name, sizeof(rd->name), msg, msglen);
	if (rd->dirfd == -ENOENT)
		say(msg, msglen, "%s", ""); /* no directory yet: no file */
	if (rd->dirfd < 0) {
		r = rd->dirfd == -ENOENT ? 0 : rd->dirfd;
		rd->dirfd = -1;
		return r;
	}
	if (tidy)
		remove_stale_tmp(rd->dirfd, ifname);
	r = load_file(rd->dirfd, rd->name, device, out, n, n_intents, rd->why,
		      sizeof(rd->why));
	if (r == 0 || r == -ENOENT) {
		close(rd->dirfd);
		rd->dirfd = -1;
		return 0;
	}
	return r;
}

int statefile_load(const char *state_dir, const char *ifname, const struct wg_key *device,
		   struct own_entry **out, size_t *n, size_t *n_intents, char *msg,
		   size_t msglen)
{
	char aside[NAME_MAX + 1];
	struct reading rd;
	int r = read_state(state_dir, ifname, device, true, out, n, n_intents, &rd, msg,
			   msglen);

	if (rd.dirfd < 0)
		return r;
	if (r == -ENOMEM) {
		close(rd.dirfd);
		say(msg, msglen, "state file %s: out of memory while reading it",
		    rd.path);
		return r;
	}
	r = set_aside(rd.dirfd, rd.name, aside, sizeof(aside));
	close(rd.dirfd);
	if (r) {
		say(msg, msglen,
		    "state file %s: %s; could not set it aside (%s), starting with no "
		    "learned AllowedIPs",
		    rd.path, rd.why, strerror(-r));
		return r;
	}
	say(msg, msglen,
	    "state file %s: %s; set aside as %s/%s, starting with no learned AllowedIPs",
	    rd.path, rd.why, state_dir, aside);
	return STATEFILE_SET_ASIDE;
}

int statefile_read(const char *state_dir, const char *ifname, const struct wg_key *device,
		   struct own_entry **out, size_t *n, size_t *n_intents, char *msg,
		   size_t msglen)
{
	struct reading rd;
	int r = read_state(state_dir, ifname, device, false, out, n, n_intents, &rd, msg,
			   msglen);

	if (rd.dirfd < 0)
		return r;
	close(rd.dirfd);
	if (r == -EIO)
		r = -EINVAL; /* unreadable: a real run would set it aside too */
	say(msg, msglen, "state file %s: %s", rd.path,
	    r == -ENOMEM ? "out of memory while reading it" : rd.why);
	return r;
}
